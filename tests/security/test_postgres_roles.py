"""A hostile holder of the application's database login (PostgreSQL roles, issue 10 item 17).

The servers connect as an application role that `herbtrace init`, connected as the owner,
grants only what they need. Whoever takes that login (a compromised server, a leaked
environment file) must not be able to rewrite the log: not by UPDATE, DELETE or TRUNCATE,
not by disabling the append-only triggers first, not by dropping or taking over the tables.
Each attack is judged by its effect: the logged rows are the same bytes afterwards and the
full audit passes. PostgreSQL only: SQLite has no roles (its protection is the file's
permissions, docs/security.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
import sqlalchemy as sa
from resource_support import open_resource_api
from support import run_herbtrace

from traceability.errors import ConfigurationError
from traceability.ledger import Ledger, initialise
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.settings import Settings
from traceability.storage.db import make_engine
from traceability.storage.migrate import upgrade
from traceability.storage.roles import RolePlan, grant_application_role

pytestmark = pytest.mark.postgres

PASSWORD = "app-role-test-password"  # noqa: S105 - a scratch role of the test's own


@dataclass
class Roles:
    """A scratch database: the owner's URL, and the application role's name and URL."""

    owner_url: str
    role: str
    app_url: str

    def settings(self, **overrides: object) -> Settings:
        """The servers' settings: the application URL, and the owner's for init."""
        values: dict[str, object] = {
            "database_url": self.app_url,
            "migration_database_url": self.owner_url,
            "log_origin": "test.herbtrace/log",
            "checkpoint_interval": 0.05,
        }
        return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(name="roles")
def _roles(postgres_url: str) -> Iterator[Roles]:
    """A fresh database owned by the test's superuser and a role name not yet in use."""
    role = f"herbtrace_app_{uuid.uuid4().hex[:10]}"
    url = sa.make_url(postgres_url)
    app_url = url.set(username=role, password=PASSWORD).render_as_string(hide_password=False)
    yield Roles(postgres_url, role, app_url)
    owner = make_engine(postgres_url)
    with owner.begin() as conn:  # the role is the cluster's: leave nothing of it behind
        conn.execute(sa.text(f"DROP OWNED BY {role}"))
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
    owner.dispose()


def app_connect(roles: Roles) -> psycopg.Connection:
    """A plain driver connection as the application role, in autocommit."""
    url = sa.make_url(roles.app_url)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        dbname=url.database,
        user=url.username,
        password=str(url.password),
        autocommit=True,
    )


def logged_rows(owner_url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the log tables, read as the owner, in key order."""
    engine = make_engine(owner_url)
    with engine.connect() as conn:
        rows = {
            "log_entries": conn.execute(sa.text("SELECT * FROM log_entries ORDER BY idx")).all(),
            "tree_nodes": conn.execute(sa.text("SELECT * FROM tree_nodes ORDER BY node_id")).all(),
            "checkpoints": conn.execute(
                sa.text("SELECT * FROM checkpoints ORDER BY tree_size")
            ).all(),
            "log_keys": conn.execute(sa.text("SELECT * FROM log_keys ORDER BY origin")).all(),
        }
    engine.dispose()
    return {name: [tuple(r) for r in table] for name, table in rows.items()}


def run_story(roles: Roles) -> int:
    """The packed 红参 story, a recall and a proof, all as the application role; the log size."""
    with open_resource_api(roles.app_url) as api:
        api.world.packed()
        recall = {"batch": "JA-HS-2026-001", "level": "II", "reason": "镉超标复检确认"}
        response = api.client.post("/v1/recalls", json=recall, headers=api.headers("regulator"))
        assert response.status_code == 201, response.text
        index = response.json()["index"]
        api.domain.ledger.checkpointer.issue(api.engine)
        size = api.domain.ledger.size()
        proof = api.client.get(f"/v1/log/proof/inclusion?index={index}&tree_size={size}")
        assert proof.status_code == 200, proof.text
        batch = api.client.get("/v1/batches/JA-HS-2026-001-P").json()
        assert batch["status"] == "recalled", batch
        return size


ATTACKS = {
    "disable the triggers": "ALTER TABLE log_entries DISABLE TRIGGER ALL",
    "disable one trigger": "ALTER TABLE log_entries DISABLE TRIGGER log_entries_append_only",
    "replica mode skips triggers": "SET session_replication_role = replica",
    "update an entry": "UPDATE log_entries SET leaf = leaf || '\\x00'::bytea WHERE idx = 1",
    "delete an entry": "DELETE FROM log_entries WHERE idx = (SELECT max(idx) FROM log_entries)",
    "truncate the log": "TRUNCATE log_entries",
    "truncate the tree": "TRUNCATE tree_nodes CASCADE",
    "update a tree node": "UPDATE tree_nodes SET hash = hash || '\\x00'::bytea",
    "delete checkpoints": "DELETE FROM checkpoints",
    "replace the log key": "UPDATE log_keys SET public_key = public_key || '\\x00'::bytea",
    "drop the trigger": "DROP TRIGGER log_entries_append_only ON log_entries",
    "replace the trigger function": (
        "CREATE OR REPLACE FUNCTION herbtrace_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
    ),
    "drop the table": "DROP TABLE log_entries CASCADE",
    "drop the schema": "DROP SCHEMA public CASCADE",
    "take the table": "ALTER TABLE log_entries OWNER TO CURRENT_USER",
    "rename the table": "ALTER TABLE log_entries RENAME TO old_entries",
    "create a shadow table": "CREATE TABLE public.shadow (x int)",
    "replace the office key": "DELETE FROM rules_keys",
    "move the schema version": "UPDATE alembic_version SET version_num = '0001'",
    "rewind a sequence": "SELECT setval(pg_get_serial_sequence('equivocations', 'id'), 1)",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_application_role_cannot_rewrite_the_log(roles: Roles, attack: str) -> None:
    """As the application role, after a real story: the attack is refused, every logged row
    is the same bytes afterwards, and the full audit still passes."""
    initialise(roles.settings())
    run_story(roles)
    before = logged_rows(roles.owner_url)
    with app_connect(roles) as conn:
        try:
            conn.execute(ATTACKS[attack])
            # a setting that took would let the next statement through: try it
            conn.execute("DELETE FROM log_entries WHERE idx = 0")
        except psycopg.errors.InsufficientPrivilege:
            pass
        else:
            pytest.fail(f"{attack}: the application role was allowed")
    assert logged_rows(roles.owner_url) == before
    assert_audit_passes(roles)


def assert_audit_passes(roles: Roles) -> None:
    """The full audit of the log, read as the application role, finds nothing."""
    with Ledger(roles.settings(), writable=False) as ledger:
        report = Auditor(ledger.verifier).run(DatabaseSource(ledger.engine))
    assert report.ok, report.findings


def test_the_owner_could_do_what_the_application_role_may_not(roles: Roles) -> None:
    """The attack is real: connected as the owner, disabling the trigger lets an UPDATE
    change a logged entry (rolled back here). This is what the separate role prevents."""
    initialise(roles.settings())
    run_story(roles)
    engine = make_engine(roles.owner_url)
    try:
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(sa.text("ALTER TABLE log_entries DISABLE TRIGGER ALL"))
            changed = conn.execute(
                sa.text("UPDATE log_entries SET leaf = leaf || '\\x00'::bytea WHERE idx = 1")
            ).rowcount
            tx.rollback()
    finally:
        engine.dispose()
    assert changed == 1


def test_the_application_works_as_its_role_and_init_is_idempotent(roles: Roles) -> None:
    """init creates the role (with the URL's password) and grants it; the packed story, a
    regulator's recall (office key, named lock, rules) and a proof work as that role; a
    second init, and one after someone granted the role more, leave exactly the same rights."""
    initialise(roles.settings())
    rights = table_rights(roles)
    assert rights["log_entries"] == {"SELECT", "INSERT"}
    assert rights["rules_keys"] == {"SELECT", "INSERT"}
    assert rights["alembic_version"] == {"SELECT"}
    assert rights["batches"] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    size = run_story(roles)
    assert size >= 20
    owner = make_engine(roles.owner_url)
    with owner.begin() as conn:
        conn.execute(sa.text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {roles.role}"))
    owner.dispose()
    assert table_rights(roles)["log_entries"] >= {"UPDATE", "DELETE", "TRUNCATE"}
    initialise(roles.settings())
    initialise(roles.settings())
    assert table_rights(roles) == rights
    with app_connect(roles) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE log_entries SET seq = seq")


def table_rights(roles: Roles) -> dict[str, set[str]]:
    """The application role's privileges on each table of the schema."""
    engine = make_engine(roles.owner_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = :r AND table_schema = 'public'"
            ),
            {"r": roles.role},
        ).all()
    engine.dispose()
    rights: dict[str, set[str]] = {}
    for table, privilege in rows:
        rights.setdefault(table, set()).add(privilege)
    return rights


def test_an_install_that_migrated_as_the_application_takes_its_tables_back(
    roles: Roles,
) -> None:
    """An older install migrated as the application role, which owns the tables and could
    disable the triggers; init as the owner takes the tables over, and then it cannot."""
    owner = make_engine(roles.owner_url)
    database = sa.make_url(roles.owner_url).database
    with owner.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {roles.role} LOGIN PASSWORD '{PASSWORD}'"))
        conn.execute(sa.text(f'ALTER DATABASE "{database}" OWNER TO {roles.role}'))
    owner.dispose()
    initialise(roles.settings(migration_database_url=None))  # the old way: as the application
    with app_connect(roles) as conn:
        conn.execute("ALTER TABLE log_entries DISABLE TRIGGER ALL")  # it owns them: it may
        conn.execute("ALTER TABLE log_entries ENABLE TRIGGER ALL")
    initialise(roles.settings())
    with app_connect(roles) as conn:
        for attack in ("disable the triggers", "drop the schema", "update an entry"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(ATTACKS[attack])
    run_story(roles)


def test_the_printed_sql_sets_up_the_same_rights(roles: Roles, tmp_path: object) -> None:
    """`herbtrace init --print-sql`, run by a DBA after a plain init, creates the role and
    grants exactly what init itself grants; it connects to nothing."""
    database = sa.make_url(roles.owner_url).database
    assert database
    done = run_herbtrace(
        ["init", "--print-sql"],
        tmp_path,  # type: ignore[arg-type]
        HERBTRACE_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/" + database,
        HERBTRACE_MIGRATION_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x",
    )
    assert done.returncode == 0, done.stderr
    assert "nobody" in done.stdout
    script = RolePlan(roles.role, database).script()
    initialise(roles.settings(database_url=roles.owner_url))  # schema only, no role yet
    owner_url = sa.make_url(roles.owner_url)
    with psycopg.connect(
        host=owner_url.host,
        port=owner_url.port,
        dbname=database,
        user=owner_url.username,
        password=str(owner_url.password),
        autocommit=True,
    ) as conn:
        conn.execute(script.encode())
        conn.execute(f"ALTER ROLE {roles.role} PASSWORD '{PASSWORD}'".encode())
    printed = table_rights(roles)
    initialise(roles.settings())
    assert table_rights(roles) == printed
    run_story(roles)
    with app_connect(roles) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(ATTACKS["disable the triggers"])


def test_a_superuser_or_the_owner_itself_is_refused_as_the_application_role(
    roles: Roles,
) -> None:
    """init refuses to call the owner, or a superuser, the application role: neither is
    bound by the grants, so the separation would be a pretence."""
    owner_role = sa.make_url(roles.owner_url).username
    with pytest.raises(ConfigurationError, match=r"superuser|owner"):
        initialise(roles.settings(), app_role=owner_role)
    owner = make_engine(roles.owner_url)
    with owner.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {roles.role} SUPERUSER LOGIN"))
    owner.dispose()
    with pytest.raises(ConfigurationError, match="superuser"):
        initialise(roles.settings())


def test_the_application_role_never_migrates_and_says_who_should(roles: Roles) -> None:
    """On a schema one migration behind, a server started as the application role stops with
    a message naming the owner's setting, and the schema is left as it was."""
    owner = make_engine(roles.owner_url)
    try:
        upgrade(owner, "0004")
        with owner.begin() as conn:
            grant_application_role(conn, roles.role, PASSWORD)
        with pytest.raises(ConfigurationError, match="HERBTRACE_MIGRATION_DATABASE_URL"):
            initialise(roles.settings(migration_database_url=None))
        with owner.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        owner.dispose()
    assert version == "0004"
