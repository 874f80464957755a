"""The systemd units in deploy/systemd: their commands run as written, with the example
environment, against a real database and broker."""

from __future__ import annotations

import http.client
import os
import secrets
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from devices.broker import LocalBroker
from devices.broker.process import free_port
from traceability.settings import Settings
from traceability.storage.db import make_engine

UNITS = Path(__file__).parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/herbtrace/.venv/bin/herbtrace"
HERBTRACE = str(Path(sys.executable).parent / "herbtrace")


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections: (key, value) pairs in order (systemd allows keys to repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    """Every value of `key` in `section`."""
    return [v for k, v in unit.get(section, []) if k == key]


def example_environment(name: str = "herbtrace.env") -> dict[str, str]:
    """The variables of deploy/systemd/herbtrace.env (or another example file there)."""
    env = {}
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def command(line: str, instance: str = "1") -> list[str]:
    """An Exec line as argv, with this environment's herbtrace and the unit's specifiers."""
    argv = shlex.split(line.replace("%i", instance).replace("%H", "testhost"))
    assert argv[0] == INSTALLED, argv
    return [HERBTRACE, *argv[1:]]


def test_every_unit_is_complete_and_names_the_installed_command() -> None:
    """Each service has a description, an ExecStart and the shared environment file (an
    ingest instance also its own broker account's); every herbtrace command is the
    installed one; the timer starts the audit."""
    services = sorted(UNITS.glob("*.service"))
    assert {p.name for p in services} >= {
        "herbtrace-api.service",
        "herbtrace-init.service",
        "herbtrace-ingest@.service",
        "herbtrace-mosquitto.service",
        "herbtrace-verify.service",
    }
    for path in services:
        unit = parse_unit(path)
        assert values(unit, "Unit", "Description"), path.name
        starts = values(unit, "Service", "ExecStart")
        assert len(starts) == 1, path.name
        for line in starts + values(unit, "Service", "ExecStartPre"):
            if "herbtrace" in line.split()[0]:
                command(line)
                shared = ["/etc/herbtrace/herbtrace.env"]
                if path.name == "herbtrace-init.service":  # the owner's URL: init's alone
                    shared.append("/etc/herbtrace/migrate.env")
                if path.name.startswith("herbtrace-ingest@"):  # each instance's broker account
                    shared.append("/etc/herbtrace/ingest-%i.env")
                assert values(unit, "Service", "EnvironmentFile") == shared, path.name
    timer = parse_unit(UNITS / "herbtrace-verify.timer")
    assert values(timer, "Timer", "OnCalendar")
    assert values(timer, "Install", "WantedBy") == ["timers.target"]


def test_the_example_environment_names_only_real_settings() -> None:
    """Every HERBTRACE_* variable of herbtrace.env is a setting herbtrace reads (a misspelt
    one would be ignored silently), and it sets the ones production needs."""
    fields = {f"HERBTRACE_{name.upper()}" for name in Settings.model_fields}
    env = example_environment()
    assert set(env) <= fields, set(env) - fields
    assert set(example_environment("migrate.env")) == {"HERBTRACE_MIGRATION_DATABASE_URL"}
    needed = {"HERBTRACE_DATABASE_URL", "HERBTRACE_LOG_ORIGIN", "HERBTRACE_LOG_KEY_PASSPHRASE"}
    assert needed <= set(env)


@pytest.fixture(name="service_env")
def _service_env(db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The example environment on the test's database and its own broker (as an operator
    would edit it), plus PATH and the like. On PostgreSQL the servers connect as an
    application role of the test's own, which init creates; the owner is the test's."""
    broker = LocalBroker(tmp_path / "mosquitto")
    broker.start()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    env = base | example_environment()
    env |= {  # the example's placeholder secrets are refused in production: replace them
        "HERBTRACE_LOG_KEY_PASSPHRASE": secrets.token_urlsafe(24),
        "HERBTRACE_IMPORT_KEY_PASSPHRASE": secrets.token_urlsafe(24),
        "HERBTRACE_SCAN_SALT": secrets.token_urlsafe(24),
    }
    app_url, role = db_url, None
    if db_url.startswith("postgresql"):
        role = f"herbtrace_unit_{uuid.uuid4().hex[:10]}"
        url = make_url(db_url).set(username=role, password="unit-app-password")  # noqa: S106
        app_url = url.render_as_string(hide_password=False)
    env |= {
        "HERBTRACE_DATABASE_URL": app_url,
        "HERBTRACE_MQTT_HOST": broker.host,
        "HERBTRACE_MQTT_PORT": str(broker.port),
        "HERBTRACE_MQTT_PASSWORD": broker.gateway.password,
        "HERBTRACE_BROKER_DIR": str(broker.directory),
    }
    assert env["HERBTRACE_MQTT_USERNAME"] == broker.gateway.username
    try:
        yield env
    finally:
        broker.stop()
        if role is not None:
            owner = make_engine(db_url)
            with owner.begin() as conn:  # roles are the cluster's: leave none behind
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            owner.dispose()


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Start a service's main process, its output in cwd/service.log."""
    with open(cwd / "service.log", "ab") as log:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def wait_for(check: object, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Poll `check()` for up to 60 s; fail with the service's output if it never holds."""
    deadline = time.monotonic() + 60
    while not check():  # type: ignore[operator]
        assert process.poll() is None, f"{what}: exited {process.returncode}\n{log.read_text()}"
        assert time.monotonic() < deadline, f"{what}: not within 60 s\n{log.read_text()}"
        time.sleep(0.2)


def answers(port: int) -> bool:
    """Whether the API on `port` answers /healthz with 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def test_the_services_start_as_written(
    service_env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    """With the example environments pointed at a real database and broker, the init unit
    (as the owner, from migrate.env) and then the API unit (serve, two workers, as the
    application role) answer /healthz, an ingest instance subscribes, and the audit unit
    passes; each stops on SIGTERM (SQLite and PostgreSQL)."""
    init = parse_unit(UNITS / "herbtrace-init.service")
    (pre,) = values(init, "Service", "ExecStart")
    owner = dict(example_environment("migrate.env"))
    owner["HERBTRACE_MIGRATION_DATABASE_URL"] = db_url
    done = subprocess.run(command(pre), env=service_env | owner, cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    api = parse_unit(UNITS / "herbtrace-api.service")
    assert values(api, "Unit", "Requires") == ["herbtrace-init.service"]
    port = free_port()
    (serve,) = values(api, "Service", "ExecStart")
    argv = command(serve)
    argv[argv.index("--port") + 1] = str(port)
    log = tmp_path / "service.log"
    server = start(argv, service_env, tmp_path)
    try:
        wait_for(lambda: answers(port), server, log, "herbtrace-api")
        ingest = parse_unit(UNITS / "herbtrace-ingest@.service")
        (line,) = values(ingest, "Service", "ExecStart")
        gateway = start(command(line, "7"), service_env, tmp_path)
        try:
            wait_for(lambda: "ingesting from" in log.read_text(), gateway, log, "ingest@7")
        finally:
            gateway.terminate()
            assert gateway.wait(60) == 0, log.read_text()
    finally:
        server.terminate()
        server.wait(60)
    audit = parse_unit(UNITS / "herbtrace-verify.service")
    (line,) = values(audit, "Service", "ExecStart")
    done = subprocess.run(command(line), env=service_env, cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
