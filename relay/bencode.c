/* bencode.c - placeholder, being written */
