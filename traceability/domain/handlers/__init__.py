"""Per-event-type handlers: each checks its rules first, then writes its index rows."""
