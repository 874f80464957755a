"""Following each signer's own chain of envelopes (seq, prev) through the log in bounded memory."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from traceability.envelope import GENESIS_PREV

_GENESIS = bytes.fromhex(GENESIS_PREV)


@dataclass
class _Open:
    """An envelope whose link to a neighbour is still unchecked."""

    index: int
    envelope_hash: bytes
    prev: bytes
    need_pred: bool
    need_succ: bool


@dataclass
class _Chain:
    seen: list[list[int]] = field(default_factory=list)  # merged [first, last] seq intervals
    open: dict[int, _Open] = field(default_factory=dict)

    def has(self, seq: int) -> bool:
        i = bisect.bisect_right(self.seen, [seq, 1 << 62]) - 1
        return i >= 0 and self.seen[i][0] <= seq <= self.seen[i][1]

    def add(self, seq: int) -> None:
        if self.seen and self.seen[-1][1] == seq - 1:  # the common, in-order case
            self.seen[-1][1] = seq
        else:
            bisect.insort(self.seen, [seq, seq])
            i = bisect.bisect_left(self.seen, [seq, seq])
            if i + 1 < len(self.seen) and self.seen[i + 1][0] == seq + 1:
                self.seen[i][1] = self.seen.pop(i + 1)[1]
            if i > 0 and self.seen[i - 1][1] == seq - 1:
                self.seen[i - 1][1] = self.seen.pop(i)[1]


@dataclass(frozen=True, slots=True)
class ChainFault:
    """A broken signer chain at log entry `index`."""

    index: int
    what: str


class SignerChains:
    """Checks that every signer's envelopes form one chain: seq unique, prev = hash of seq-1.

    Memory stays proportional to the number of signers plus open gaps, not to the log.
    """

    def __init__(self) -> None:
        self._chains: dict[str, _Chain] = {}

    def add(
        self, index: int, signer: str, seq: int, envelope_hash: bytes, prev: bytes
    ) -> list[ChainFault]:
        """Record entry `index` (the signer's envelope `seq`); return the faults it reveals."""
        chain = self._chains.setdefault(signer, _Chain())
        if chain.seen and chain.seen[-1][1] == seq - 1:  # the usual case: next in order
            before = chain.open.get(seq - 1)
            if before is not None and before.envelope_hash == prev and not before.need_pred:
                del chain.open[seq - 1]
                chain.seen[-1][1] = seq
                chain.open[seq] = _Open(index, envelope_hash, prev, False, True)
                return []
        if chain.has(seq):
            return [ChainFault(index, f"signer {signer} reuses sequence number {seq}")]
        chain.add(seq)
        faults: list[ChainFault] = []
        item = _Open(index, envelope_hash, prev, need_pred=seq > 1, need_succ=True)
        if seq == 1 and prev != _GENESIS:
            faults.append(
                ChainFault(index, f"signer {signer}'s first envelope has a non-zero prev")
            )
        before = chain.open.get(seq - 1)
        if before is not None:
            if before.envelope_hash != prev:
                faults.append(
                    ChainFault(index, f"signer {signer} seq {seq}: prev is not envelope {seq - 1}")
                )
            item.need_pred = before.need_succ = False
            self._settle(chain, seq - 1)
        after = chain.open.get(seq + 1)
        if after is not None:
            if after.prev != envelope_hash:
                faults.append(
                    ChainFault(
                        after.index, f"signer {signer} seq {seq + 1}: prev is not envelope {seq}"
                    )
                )
            item.need_succ = after.need_pred = False
            self._settle(chain, seq + 1)
        chain.open[seq] = item
        self._settle(chain, seq)
        return faults

    @staticmethod
    def _settle(chain: _Chain, seq: int) -> None:
        item = chain.open[seq]
        if not item.need_pred and not item.need_succ:
            del chain.open[seq]

    def gaps(self) -> list[tuple[str, int, int]]:
        """Return (signer, first missing seq, last missing seq) for every hole in a chain."""
        holes: list[tuple[str, int, int]] = []
        for signer, chain in self._chains.items():
            first = chain.seen[0][0]
            if first > 1:
                holes.append((signer, 1, first - 1))
            holes.extend(
                (signer, a[1] + 1, b[0] - 1)
                for a, b in zip(chain.seen, chain.seen[1:], strict=False)
            )
        return holes
