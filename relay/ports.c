/* ports.c - placeholder, being written */
