/* mailbox.c - placeholder, being written */
