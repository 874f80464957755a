"""The hook through which the domain admits or refuses an envelope inside the append lock."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Connection

from traceability.envelope import ParsedEnvelope
from traceability.log.signers import SignerInfo


class EntryPolicy(Protocol):
    """Rules an envelope must pass, beyond signature and sequence, to enter the log.

    `apply` runs once per envelope, in log order, inside the write transaction that will
    insert the entry, after the signer and sequence checks and before the entry gets its
    index. It sees earlier envelopes of the same batch through `conn`.

    To refuse, it raises `Refused` (with a stable `reason`) having written nothing. To admit,
    it may write its own index rows for entry `index` on `conn`, which commit or roll back
    with the entry. `received` is the entry's RFC 3339 time received.
    """

    def apply(
        self,
        conn: Connection,
        index: int,
        env: ParsedEnvelope,
        signer: SignerInfo,
        received: str,
    ) -> None: ...
