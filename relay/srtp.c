/* srtp.c - placeholder, being written */
