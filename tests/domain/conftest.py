"""Fixtures of the domain tests: a Domain on each database, with the story's parties."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from story import StandInHerbs, World

from traceability.domain.service import Domain
from traceability.settings import Settings


@pytest.fixture(name="domain")
def _domain(settings: Settings, engine: Engine) -> Iterator[Domain]:
    """A Domain (ledger + rules + indexes) on the test's own database, stand-in herbs."""
    domain = Domain(settings, engine, herbs=StandInHerbs())
    yield domain
    domain.close()


@pytest.fixture(name="world")
def _world(domain: Domain) -> World:
    """The story's organisations and sites, registered."""
    world = World(domain)
    world.register_all()
    return world
