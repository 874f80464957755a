"""The domain rules, one module per family; each refuses with a stable reason or raises alerts."""
