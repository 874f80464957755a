"""The `herbtrace` command line."""

from traceability.cli.app import app, main

__all__ = ["app", "main"]
