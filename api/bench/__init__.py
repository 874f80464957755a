"""`herbtrace bench lookup`: QR JSON lookups of a unit with a 50-event history, over HTTP."""
