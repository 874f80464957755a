"""Write the JSON Schema of every wire contract into schemas/json (python -m schemas.export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.envelope import Envelope
from schemas.events import EventBody
from schemas.mqtt import Receipt

SCHEMA_DIR = Path(__file__).parent / "json"
ID_BASE = "https://herbtrace.org/schemas/v1/"


def schemas() -> dict[str, dict[str, Any]]:
    """Return each contract's JSON Schema (draft 2020-12), keyed by file name."""
    contracts: dict[str, type[BaseModel] | TypeAdapter[Any]] = {
        "envelope.schema.json": Envelope,
        "event-body.schema.json": TypeAdapter(EventBody),
        "receipt.schema.json": Receipt,
    }
    out: dict[str, dict[str, Any]] = {}
    for name, contract in contracts.items():
        if isinstance(contract, TypeAdapter):
            schema = contract.json_schema(mode="validation")
        else:
            schema = contract.model_json_schema(mode="validation")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": ID_BASE + name,
            **schema,
        }
    return out


def render(schema: dict[str, Any]) -> str:
    """The committed text of a schema: stable key order, UTF-8, two-space indent."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write every schema file; with `--check`, exit 1 if any committed file is stale."""
    check = "--check" in sys.argv[1:]
    stale = []
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, schema in schemas().items():
        path = SCHEMA_DIR / name
        text = render(schema)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"stale: {', '.join(stale)}; run python -m schemas.export", file=sys.stderr)  # noqa: T201
        raise SystemExit(1)


if __name__ == "__main__":
    main()
