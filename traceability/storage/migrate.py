"""Upgrade or downgrade a database with the Alembic migrations that ship inside the package."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from traceability.errors import ConfigurationError

SCRIPT_LOCATION = "traceability:migrations"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config that migrates through `engine`."""
    config = _script_config()
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision() -> str:
    """The newest migration shipped with the package: what `herbtrace init` brings a database to."""
    script = ScriptDirectory.from_config(_script_config())
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise ConfigurationError("the package ships no migrations")
    return head


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at; None when it has no herbtrace schema at all."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to `revision`.

    ConfigurationError when the schema needs changing and the role connected may not
    change it (the application role, on PostgreSQL: see traceability/storage/roles.py).
    """
    config = alembic_config(engine)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        raise ConfigurationError(
            f"the database needs migrating and the role {engine.url.username!r} may not "
            "change its schema: run `herbtrace init` with HERBTRACE_MIGRATION_DATABASE_URL "
            "naming the role that owns the tables"
        ) from exc


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database down to `revision`."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
