/* stream.c - placeholder, being written */
