"""Who may hold which signer role, and which roles sign which events: the one table.

An organisation's kind (`schemas.events.registry.OrganisationKind`) bounds the roles its
keys may hold. The domain rules read their role tuples from here, and the HTTP layer's
authoriser reads `KIND_ROLES` before it lets anyone register a key for an organisation, so
the rules that decide what a key may sign and the rules that decide who may create such a
key cannot drift apart.

Roles held by no organisation kind — `admin`, `importer`, `system` — are herbtrace's own
keys, registered only on the server's command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy.engine import Connection

from traceability.domain.state import organisation_kind
from traceability.errors import Forbidden, InvalidInput

FIELD_ROLES = ("device", "operator")
"""Roles that record origin, processing and custody events (for the batch's custodian)."""

REGISTRARS = ("admin", "regulator")
"""Roles that register organisations, and any organisation's sites."""

TESTER_ROLES = ("inspector", "device", "operator")
"""Roles that record a quality test, for the `testing_lab` the test names."""

LABORATORY_KIND = "testing_lab"
"""The organisation kind whose signers may record quality tests."""

RECALLER_ROLES = ("regulator",)
"""Roles that recall any batch (an operator recalls only its own organisation's)."""

_FIELD = frozenset(FIELD_ROLES)

KIND_ROLES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "cooperative": _FIELD,
        "grower": _FIELD,
        "deer_farm": _FIELD,
        "processor": _FIELD,
        "distributor": _FIELD,
        "retailer": _FIELD,
        LABORATORY_KIND: frozenset(TESTER_ROLES),
        "regulator": frozenset(RECALLER_ROLES),
    }
)
"""The signer roles an organisation of each kind may hold.

A grower, co-op, deer farm, processor, distributor or pharmacy records what it does to the
batches it holds, with devices and operators; only a testing laboratory also has
inspectors, whose tests the rules accept for that laboratory alone; a regulator's office
holds regulator keys (recalls). No kind holds `admin`, `importer` or `system`."""


def roles_for_kind(kind: str | None) -> frozenset[str]:
    """The signer roles an organisation of `kind` may hold (none for an unknown kind)."""
    return KIND_ROLES.get(kind or "", frozenset())


def kind_may_hold(kind: str | None, role: str) -> bool:
    """Whether an organisation of `kind` may hold a key in `role`."""
    return role in roles_for_kind(kind)


def require_key_role(conn: Connection, organisation: str, role: str) -> None:
    """Refuse to register a key of `organisation` in `role` unless its kind may hold it.

    InvalidInput when the organisation is not registered (its kind is unknown); Forbidden,
    naming the roles its kind may hold, when the role is not one of them.
    """
    kind = organisation_kind(conn, organisation)
    if kind is None:
        raise InvalidInput(f"organisation {organisation} is not registered")
    if not kind_may_hold(kind, role):
        allowed = ", ".join(sorted(roles_for_kind(kind))) or "none"
        raise Forbidden(
            f"{organisation} is a {kind}: its keys may hold the roles {allowed}, not {role}"
        )
