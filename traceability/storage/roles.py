"""PostgreSQL roles: an owner role migrates the schema, the application role only uses it.

The append-only triggers on the log tables hold only against a role that does not own those
tables: an owner may `ALTER TABLE … DISABLE TRIGGER` and then UPDATE, DELETE or TRUNCATE.
So the schema belongs to an owner role that `herbtrace init` connects as
(HERBTRACE_MIGRATION_DATABASE_URL), and the servers connect as an application role
(HERBTRACE_DATABASE_URL) granted exactly this, and nothing else:

- the log tables (`APPEND_ONLY_TABLES`) and the server keys (`rules_keys`): SELECT, INSERT;
- `alembic_version`: SELECT (the servers check the schema is current; they never migrate);
- every other table (the indexes rebuilt from the log, devices, users, scans …):
  SELECT, INSERT, UPDATE, DELETE, never TRUNCATE;
- sequences: USAGE, SELECT (`nextval` for the id columns), never UPDATE (`setval`);
- the database: CONNECT; the schema: USAGE, never CREATE.

Advisory locks (appends, named locks) need no privilege. The application role must own
nothing in the database (not the database itself either: its owner may drop the `public`
schema with everything in it), and must not be a superuser, who bypasses every check.

SQLite has no roles: there the equivalent protection is the database file's permissions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from traceability.errors import ConfigurationError
from traceability.storage.tables import APPEND_ONLY_TABLES

INSERT_ONLY_TABLES = (*APPEND_ONLY_TABLES, "rules_keys")
"""Tables the application may read and add to, never change: the log and the server keys."""

READ_ONLY_TABLES = ("alembic_version",)
"""Tables the application may only read."""

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_quote = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]


def check_role_name(role: str) -> str:
    """Return `role` if it is a plain PostgreSQL role name (lower-case letters, digits, _)."""
    if not _ROLE.fullmatch(role):
        raise ConfigurationError(
            f"{role!r} is not a role name herbtrace uses: lower-case letters, digits and _, "
            "at most 63, not starting with a digit"
        )
    return role


@dataclass(frozen=True)
class RolePlan:
    """What to grant: the application role, the database and the schema it uses."""

    role: str
    database: str
    schema: str = "public"

    def create_statement(self) -> str:
        """SQL creating the role (login, no password: set it with `\\password`) if missing."""
        literal = self.role  # check_role_name allows no quote
        return (
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
            f"'{literal}') THEN CREATE ROLE {_quote(self.role)} LOGIN; END IF; END $$"
        )

    def grant_statements(self) -> list[str]:
        """The statements that leave the role with exactly the application's rights.

        Idempotent: everything is revoked first, in the same transaction, so a role granted
        more by hand (or by an older version) ends with exactly this.
        """
        role, schema = _quote(self.role), _quote(self.schema)
        insert_only = ", ".join(f"{schema}.{_quote(t)}" for t in INSERT_ONLY_TABLES)
        read_only = ", ".join(f"{schema}.{_quote(t)}" for t in READ_ONLY_TABLES)
        return [
            f"GRANT CONNECT ON DATABASE {_quote(self.database)} TO {role}",
            f"REVOKE CREATE ON SCHEMA {schema} FROM {role}",
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"REVOKE UPDATE, DELETE ON {insert_only} FROM {role}",
            f"REVOKE INSERT, UPDATE, DELETE ON {read_only} FROM {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        ]

    def script(self) -> str:
        """The whole set-up as SQL for a DBA, to run as the owner after `herbtrace init`."""
        lines = [
            f"-- herbtrace: the application role {self.role!r} on database {self.database!r}.",
            "-- Run as the role that owns herbtrace's tables (the one `herbtrace init` migrates",
            "-- as), after every `herbtrace init` that upgraded the schema. Idempotent.",
            "-- If an earlier version migrated as the application role, first, as a superuser:",
            f"--   REASSIGN OWNED BY {_quote(self.role)} TO <the owner role>;",
            "BEGIN;",
            self.create_statement() + ";",
            *(s + ";" for s in self.grant_statements()),
            "COMMIT;",
            f"-- then give the role a password: \\password {self.role}",
        ]
        return "\n".join(lines) + "\n"


def grant_application_role(conn: Connection, role: str, password: str | None = None) -> None:
    """Create `role` if missing (LOGIN, with `password`), and grant it the application's rights.

    `conn` is the owner's, inside a transaction. Objects the role owns in this database
    (left by an earlier version that migrated as the application) are handed to the owner
    first. ConfigurationError when `role` is the owner itself or a superuser, or when the
    owner may not create the role or take its objects.
    """
    check_role_name(role)
    owner = conn.execute(sa.text("SELECT current_user")).scalar_one()
    if owner == role:
        raise ConfigurationError(
            f"the application role {role!r} is the owner that migrates: give "
            "HERBTRACE_MIGRATION_DATABASE_URL a role of its own"
        )
    plan = RolePlan(
        role,
        conn.execute(sa.text("SELECT current_database()")).scalar_one(),
        conn.execute(sa.text("SELECT current_schema()")).scalar_one(),
    )
    found = conn.execute(
        sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if found is None:
        _create_role(conn, role, password)
    elif found[0]:
        raise ConfigurationError(
            f"the application role {role!r} is a superuser, whom no privilege binds: "
            "use an ordinary role"
        )
    if _owns_anything(conn, role):
        _reassign(conn, role, owner)
    for statement in plan.grant_statements():
        conn.execute(sa.text(statement))


def _create_role(conn: Connection, role: str, password: str | None) -> None:
    # The password travels as a bound parameter, quoted by the server (format's %L).
    conn.execute(
        sa.text(
            "SELECT set_config('herbtrace.role', :r, true), set_config('herbtrace.pw', :p, true)"
        ),
        {"r": role, "p": password or ""},
    )
    statement = sa.text(
        """
        DO $$ BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', current_setting('herbtrace.role'));
            IF current_setting('herbtrace.pw') <> '' THEN
                EXECUTE format('ALTER ROLE %I PASSWORD %L', current_setting('herbtrace.role'),
                               current_setting('herbtrace.pw'));
            END IF;
        END $$
        """
    )
    try:
        with conn.begin_nested():
            conn.execute(statement)
    except sa.exc.DBAPIError as exc:
        raise ConfigurationError(
            f"the owner role may not create the application role {role!r} "
            f"({_reason(exc)}): create it as a DBA (`herbtrace init --print-sql`)"
        ) from exc


def _owns_anything(conn: Connection, role: str) -> bool:
    """Whether `role` owns the database, a schema, a table, sequence, view or a function."""
    query = sa.text(
        """
        SELECT EXISTS (SELECT FROM pg_database WHERE datname = current_database()
                         AND datdba = (SELECT oid FROM pg_roles WHERE rolname = :r))
            OR EXISTS (SELECT FROM pg_namespace
                       WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = :r))
            OR EXISTS (SELECT FROM pg_class
                       WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = :r))
            OR EXISTS (SELECT FROM pg_proc
                       WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = :r))
        """
    )
    return bool(conn.execute(query, {"r": role}).scalar_one())


def _reassign(conn: Connection, role: str, owner: str) -> None:
    try:
        with conn.begin_nested():
            conn.execute(sa.text(f"REASSIGN OWNED BY {_quote(role)} TO {_quote(owner)}"))
    except sa.exc.DBAPIError as exc:
        raise ConfigurationError(
            f"the application role {role!r} owns objects in the database (an earlier "
            f"version migrated as it), and the owner {owner!r} may not take them "
            f"({_reason(exc)}): as a superuser run "
            f"REASSIGN OWNED BY {_quote(role)} TO {_quote(owner)}; then `herbtrace init` again"
        ) from exc


def _reason(exc: sa.exc.DBAPIError) -> str:
    return " ".join(str(exc.orig).split()) if exc.orig is not None else str(exc)
