/* rtcp.c - placeholder, being written */
