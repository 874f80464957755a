"""The broker's accounts and access rules, kept by Mosquitto's dynamic security plugin.

Mosquitto's `acl_file` does not check subscriptions (only what is delivered), so a device
could join the gateways' shared subscription and make the broker route other devices'
events to it, where delivery then drops them; and a password file does not bind a login to
a client ID, so one client could take over another's session. The dynamic security plugin
checks both: every SUBSCRIBE against the subscriber's roles, and every CONNECT's client ID
against the one fixed for its account.

The rules are in `deploy/mosquitto/roles.json`: the default denies everything but
unsubscribing; the admin role may only use the plugin's control topic; the gateway role,
given to each gateway's own account, may join the ingest group and answer on receipts
topics; each device gets a role of its own for its two topics (the plugin has no
per-username patterns). Every account's client ID is its username.

The plugin keeps its state in `dynamic-security.json` in the broker directory, read at
start and rewritten on every change. While the broker runs, it is changed only over MQTT,
by the admin account, on `$CONTROL/dynamic-security/v1` (`BrokerAdmin`), which disconnects
a disabled or deleted client at once. While it is stopped, `StateFile` edits the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from traceability.errors import ConfigurationError, InvalidInput
from traceability.file_lock import file_lock

ADMIN_USER = "herbtrace-admin"
"""The broker account that administers the plugin (devices' and gateways' accounts)."""
ADMIN_ROLE = "herbtrace-admin"
GATEWAY_ROLE = "herbtrace-gateway"
STATE_FILE = "dynamic-security.json"
"""The plugin's state in a broker directory (accounts with password hashes, roles)."""
ACCESS_FILE = "admin.json"
"""How to reach a broker as its admin (address, CA, admin password), mode 0600."""
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
CHUNK = 100
"""Accounts per control message (each account is two commands of about 600 bytes)."""

_DEVICE_ID = "0123456789abcdef"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def is_device_id(username: str) -> bool:
    """Whether `username` is a device ID (32 lower-case hex digits, its key ID)."""
    return len(username) == 32 and all(c in _DEVICE_ID for c in username)


def check_username(username: str) -> None:
    """InvalidInput unless `username` is 1-64 letters, digits, '_', '.' or '-'."""
    if not 0 < len(username) <= 64 or not set(username) <= _NAME_CHARS or username[0] in "._-":
        raise InvalidInput(
            f"a broker username is 1-64 letters, digits, '_', '.' or '-', not {username!r}"
        )


def hash_password(password: str, iterations: int = 101) -> dict[str, Any]:
    """The plugin's stored form of a password: PBKDF2-SHA512 over a random 12-byte salt.

    The plugin hashes passwords it is sent the same way (101 iterations); herbtrace's
    passwords are 192 random bits, so the iteration count is not what protects them.
    """
    if not password or any(c in password for c in "\n\r\0"):
        raise InvalidInput("a broker password must be non-empty, without newlines")
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


@dataclass(frozen=True, slots=True)
class Roles:
    """The access rules of `deploy/mosquitto/roles.json`."""

    default_access: dict[str, bool]
    roles: list[dict[str, Any]]
    device_template: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Roles:
        """Read the rules; ConfigurationError if the file is missing or malformed."""
        try:
            data = json.loads(path.read_text())
            return cls(data["defaultACLAccess"], data["roles"], data["device_role"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the broker's roles {path}: {exc}") from exc

    def role(self, rolename: str) -> dict[str, Any]:
        """One of the fixed roles (admin, gateway); ConfigurationError if the file lacks it."""
        for role in self.roles:
            if role.get("rolename") == rolename:
                return role
        raise ConfigurationError(f"the broker's roles have no role {rolename!r}")

    def device_role(self, device_id: str) -> dict[str, Any]:
        """The role of one device: its own events to publish, its own receipts to read."""
        if not is_device_id(device_id):
            raise InvalidInput(f"a device ID is a 32-hex key ID, not {device_id!r}")
        text = json.dumps(self.device_template).replace("{device_id}", device_id)
        role: dict[str, Any] = json.loads(text)
        return role


def client_entry(
    username: str, password: str, roles: list[str], bind: bool = True
) -> dict[str, Any]:
    """A client in the plugin's state; with `bind`, its only client ID is its username.

    The admin account is not bound: the CLI and every gateway may use it at once, each
    connection under a client ID of its own.
    """
    check_username(username)
    entry = {"username": username, **hash_password(password)}
    if bind:
        entry["clientid"] = username
    return entry | {"roles": [{"rolename": r} for r in roles]}


@dataclass(frozen=True, slots=True)
class BrokerAccess:
    """Where a broker listens and how to log in to it as its admin."""

    host: str
    port: int
    username: str
    password: str
    ca_file: str | None = None

    def __repr__(self) -> str:
        return f"BrokerAccess({self.host!r}, {self.port}, {self.username!r}, password=…)"

    @classmethod
    def load(cls, path: Path) -> BrokerAccess:
        """Read an access file (`admin.json`); ConfigurationError if unreadable."""
        try:
            data = json.loads(path.read_text())
            return cls(
                str(data["host"]),
                int(data["port"]),
                str(data["username"]),
                str(data["password"]),
                data.get("ca_file"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the broker access file {path}: {exc}") from exc

    def save(self, path: Path) -> None:
        """Write the access file, readable by its owner only."""
        _write_private(path, json.dumps(asdict(self), indent=2) + "\n")


class StateFile:
    """The plugin's state file of a broker that is not running (it would overwrite edits)."""

    def __init__(self, path: Path, roles: Roles) -> None:
        self.path = path
        self.roles = roles

    def create(self, admin_password: str) -> None:
        """Write a fresh state: the rules and the admin account, no other client."""
        state = {
            "defaultACLAccess": self.roles.default_access,
            "roles": self.roles.roles,
            "groups": [],
            "clients": [client_entry(ADMIN_USER, admin_password, [ADMIN_ROLE], bind=False)],
        }
        with self._locked():
            self._write(state)

    def put_clients(
        self, clients: dict[str, str], roles: dict[str, list[str]], new_roles: list[dict[str, Any]]
    ) -> None:
        """Add or replace accounts (username → password) with their role names, and roles
        (a role already there gets the access rules it lacks)."""
        with self._locked():
            state = self._read()
            known = {r["rolename"]: r for r in state["roles"]}
            for role in new_roles:
                held = known.get(role["rolename"])
                if held is None:
                    state["roles"].append(role)
                    continue
                acls = held.setdefault("acls", [])
                acls.extend(a for a in role.get("acls", []) if a not in acls)
            state["clients"] = [c for c in state["clients"] if c["username"] not in clients]
            state["clients"].extend(client_entry(u, p, roles[u]) for u, p in clients.items())
            self._write(state)

    def remove_client(self, username: str) -> bool:
        """Delete an account; return whether it was there."""
        with self._locked():
            state = self._read()
            kept = [c for c in state["clients"] if c["username"] != username]
            if len(kept) == len(state["clients"]):
                return False
            state["clients"] = kept
            self._write(state)
            return True

    def usernames(self) -> list[str]:
        """The accounts in the file."""
        return [c["username"] for c in self._read()["clients"]]

    def _read(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the broker state {self.path}: {exc}") from exc
        state.setdefault("roles", [])
        state.setdefault("clients", [])
        return state

    def _write(self, state: dict[str, Any]) -> None:
        _write_private(self.path, json.dumps(state, indent=1) + "\n")

    def _locked(self) -> Any:
        return file_lock(self.path.with_name(self.path.name + ".lock"))


class BrokerAdmin:
    """Changes a running broker's accounts over MQTT, as its admin account.

    Each call connects, sends its commands (at most CHUNK accounts per message), waits for
    the plugin's answers and disconnects; ConfigurationError when the broker cannot be
    reached or refuses a command.
    """

    def __init__(self, access: BrokerAccess, roles: Roles, timeout: float = 10.0) -> None:
        self.access = access
        self.roles = roles
        self.timeout = timeout

    def put_devices(self, devices: dict[str, str]) -> None:
        """Create device accounts (device ID → password), or re-enable existing ones.

        An existing account gets the new password and is enabled again.
        """
        for chunk in _chunks(list(devices.items()), CHUNK):
            commands: list[dict[str, Any]] = []
            for device_id, password in chunk:
                role = self.roles.device_role(device_id)
                commands.append({"command": "createRole", **role})
                commands.append(_create_client(device_id, password, [role["rolename"]]))
            self._put(commands, dict(chunk))

    def put_gateway(self, username: str, password: str) -> None:
        """Create a gateway's account (its client ID is its username), or reset its password.

        The gateway role gets every access rule of the roles file it lacks (a broker set up
        by an older herbtrace lacks the partitioned gateways' subscription).
        """
        acls = [
            {"command": "addRoleACL", "rolename": GATEWAY_ROLE, **acl}
            for acl in self.roles.role(GATEWAY_ROLE).get("acls", [])
        ]
        self._put([*acls, _create_client(username, password, [GATEWAY_ROLE])], {username: password})

    def disable(self, usernames: Iterable[str]) -> list[str]:
        """Disable accounts: their sessions are ended at once and their logins refused.

        Returns the usernames the broker did not know (nothing to disable).
        """
        names = list(usernames)
        unknown: list[str] = []
        for chunk in _chunks(names, CHUNK * 2):
            answers = self.run([{"command": "disableClient", "username": u} for u in chunk])
            for username, answer in zip(chunk, answers, strict=True):
                error = answer.get("error")
                if error and "not found" in error.lower():
                    unknown.append(username)
                elif error:
                    raise ConfigurationError(f"broker refused to disable {username}: {error}")
        return unknown

    def delete(self, username: str) -> bool:
        """Delete an account (its session is ended); return whether it existed."""
        (answer,) = self.run([{"command": "deleteClient", "username": username}])
        error = answer.get("error")
        if error and "not found" not in error.lower():
            raise ConfigurationError(f"broker refused to delete {username}: {error}")
        return not error

    def client(self, username: str) -> dict[str, Any] | None:
        """The broker's record of an account (`disabled`, `roles`, …), or None."""
        (answer,) = self.run([{"command": "getClient", "username": username}])
        if answer.get("error"):
            return None
        found: dict[str, Any] = answer.get("data", {}).get("client", {})
        return found

    def _put(self, commands: list[dict[str, Any]], passwords: dict[str, str]) -> None:
        answers = self.run(commands)
        again: list[dict[str, Any]] = []
        for command, answer in zip(commands, answers, strict=True):
            error = answer.get("error")
            if not error:
                continue
            if "already exists" not in error.lower():
                raise ConfigurationError(f"broker refused {command['command']}: {error}")
            if command["command"] == "createClient":
                username = command["username"]
                again.append(
                    {
                        "command": "setClientPassword",
                        "username": username,
                        "password": passwords[username],
                    }
                )
                again.append({"command": "enableClient", "username": username})
        for command, answer in zip(again, self.run(again) if again else [], strict=True):
            if answer.get("error"):
                raise ConfigurationError(f"broker refused {command['command']}: {answer}")

    def run(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send control commands and return the plugin's answers, one per command."""
        if not commands:
            return []
        tag = uuid.uuid4().hex
        for n, command in enumerate(commands):
            command["correlationData"] = f"{tag}-{n}"
        answers: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        ready = threading.Event()
        failure: list[str] = []
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.access.username}-{tag[:12]}",
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(self.access.username, self.access.password)
        if self.access.ca_file:
            client.tls_set(ca_certs=self.access.ca_file)

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                failure.append(f"login refused: {reason}")
                ready.set()
            else:
                c.subscribe(RESPONSE_TOPIC, qos=1)

        def on_subscribe(_c: Any, _u: Any, _m: int, reasons: list[Any], _p: Any) -> None:
            if any(r.is_failure for r in reasons):
                failure.append(f"cannot read {RESPONSE_TOPIC}: {reasons[0]}")
            ready.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = lambda _c, _u, msg: answers.put(bytes(msg.payload))
        where = f"{self.access.host}:{self.access.port}"
        try:
            client.connect(self.access.host, self.access.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot reach the MQTT broker at {where}: {exc}") from exc
        client.loop_start()
        try:
            if not ready.wait(self.timeout) or failure:
                raise ConfigurationError(
                    f"broker at {where} refused its admin: {failure[0] if failure else 'timeout'}"
                )
            client.publish(CONTROL_TOPIC, json.dumps({"commands": commands}), qos=1)
            return _collect(answers, {c["correlationData"] for c in commands}, self.timeout)
        finally:
            client.disconnect()
            client.loop_stop()


def _collect(
    answers: queue.SimpleQueue[bytes], wanted: set[str], timeout: float
) -> list[dict[str, Any]]:
    by_tag: dict[str, dict[str, Any]] = {}
    while len(by_tag) < len(wanted):
        try:
            raw = answers.get(timeout=timeout)
        except queue.Empty:
            raise ConfigurationError("the broker did not answer its admin in time") from None
        for answer in json.loads(raw).get("responses", []):
            tag = answer.get("correlationData")
            if tag in wanted:
                by_tag[tag] = answer
    return [by_tag[t] for t in sorted(wanted, key=lambda t: int(t.rsplit("-", 1)[1]))]


def _create_client(username: str, password: str, roles: list[str]) -> dict[str, Any]:
    check_username(username)
    hash_password(password)  # the same checks as for the state file
    return {
        "command": "createClient",
        "username": username,
        "password": password,
        "clientid": username,
        "roles": [{"rolename": r} for r in roles],
    }


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temporary file, fsync, rename), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(name, 0o600)
    os.replace(name, path)
