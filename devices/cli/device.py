"""`herbtrace device init` and `herbtrace device simulate`: the device side."""

from __future__ import annotations
