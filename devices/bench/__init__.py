"""`herbtrace bench ingest`: simulated devices, a real broker, gateway processes, measured."""
