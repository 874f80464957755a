"""Benchmarks that measure herbtrace against the machine it runs on."""
