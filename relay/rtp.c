/* rtp.c - placeholder, being written */
