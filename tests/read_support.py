"""Test helper: run one of the domain's read functions on its own connection."""

from traceability.storage.db import on_connection as read

__all__ = ["read"]
