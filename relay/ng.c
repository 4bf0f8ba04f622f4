/* ng.c - placeholder, being written */
