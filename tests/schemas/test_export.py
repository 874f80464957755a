"""The committed JSON Schemas in schemas/json stay in sync with the pydantic contracts."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas.export import SCHEMA_DIR, render, schemas


def test_committed_schemas_match_the_models() -> None:
    """Each exported schema file is exactly what the models generate now."""
    generated = schemas()
    committed = {p.name for p in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == set(generated)
    for name, schema in generated.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == render(schema), (
            f"{name} is stale: run python -m schemas.export"
        )


def test_event_schema_names_every_event_type() -> None:
    """The exported event-body schema discriminates on `type` over all event types."""
    schema = json.loads((SCHEMA_DIR / "event-body.schema.json").read_text(encoding="utf-8"))
    from schemas.events import EVENT_TYPES

    mapping = schema["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)


def test_check_mode_passes_on_the_committed_tree() -> None:
    """`python -m schemas.export --check`, the command CI-style checks use, exits 0 now."""
    result = subprocess.run(
        [sys.executable, "-m", "schemas.export", "--check"], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
