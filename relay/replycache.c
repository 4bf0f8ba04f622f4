/* replycache.c - placeholder, being written */
