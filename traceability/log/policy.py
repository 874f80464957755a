"""The hook through which the domain admits or refuses an envelope inside the append lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.engine import Connection

from traceability.envelope import ParsedEnvelope
from traceability.log.signers import SignerInfo


class EntryPolicy(Protocol):
    """Rules an envelope must pass, beyond signature and sequence, to enter the log.

    Inside the write transaction of an append batch, `begin` is called once with the
    batch's envelopes (those whose signatures hold) and `size`, the index the first entry
    would get, before any of them is checked; then `apply` once per envelope, in log order,
    after the signer and sequence checks and before the entry gets its index; then `finish`
    once, before the entries are inserted. Envelopes of the same batch that `apply`
    admitted earlier count as in the log for a later one (the policy keeps what they
    changed, and writes it by `finish` at the latest).

    To refuse, it raises `Refused` (with a stable `reason`) having written nothing. To admit,
    it may write its own index rows for entry `index` on `conn`, which commit or roll back
    with the entry. `received` is the entry's RFC 3339 time received.
    """

    def begin(self, conn: Connection, size: int, envelopes: Sequence[ParsedEnvelope]) -> None: ...

    def apply(
        self,
        conn: Connection,
        index: int,
        env: ParsedEnvelope,
        signer: SignerInfo,
        received: str,
    ) -> None: ...

    def finish(self, conn: Connection) -> None: ...
