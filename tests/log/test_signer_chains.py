"""SignerChains: following each signer's (seq, prev) chain through the log in bounded memory."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traceability.log.signer_chains import ChainFault, SignerChains

GENESIS = bytes(32)
Link = tuple[str, int, bytes, bytes]  # (signer, seq, envelope_hash, prev)


def _hash(signer: str, seq: int) -> bytes:
    """Return a distinct stand-in envelope hash for a signer's envelope `seq`."""
    return hashlib.sha256(f"{signer}/{seq}".encode()).digest()


def _chain(signer: str, length: int) -> list[Link]:
    """Return a valid chain of `length` envelopes for `signer`, seq 1 first."""
    return [
        (signer, seq, _hash(signer, seq), GENESIS if seq == 1 else _hash(signer, seq - 1))
        for seq in range(1, length + 1)
    ]


def _feed(chains: SignerChains, links: list[Link]) -> list[ChainFault]:
    """Add links at log indexes 0, 1, 2 …; return every fault reported."""
    faults: list[ChainFault] = []
    for index, (signer, seq, envelope_hash, prev) in enumerate(links):
        faults.extend(chains.add(index, signer, seq, envelope_hash, prev))
    return faults


def _missing_ranges(signer: str, present: set[int]) -> list[tuple[str, int, int]]:
    """Return the holes in 1..max(present) as (signer, first, last) ranges."""
    holes: list[tuple[str, int, int]] = []
    start = None
    for seq in range(1, max(present) + 1):
        if seq not in present and start is None:
            start = seq
        elif seq in present and start is not None:
            holes.append((signer, start, seq - 1))
            start = None
    return holes


def test_in_order_chains_have_no_faults_or_gaps() -> None:
    """Interleaved in-order chains of three signers produce no faults and no gaps."""
    chains = SignerChains()
    links = [link for trio in zip(*(_chain(s, 50) for s in "abc"), strict=True) for link in trio]
    assert _feed(chains, links) == []
    assert chains.gaps() == []


def test_single_envelope_chain_is_fine() -> None:
    """A signer with only its first envelope has no faults and no gaps."""
    chains = SignerChains()
    assert chains.add(0, "a", 1, _hash("a", 1), GENESIS) == []
    assert chains.gaps() == []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), length=st.integers(min_value=1, max_value=40))
def test_any_order_of_a_valid_chain_has_no_faults(data: st.DataObject, length: int) -> None:
    """Any permutation of a complete valid chain gives no faults and no gaps."""
    links = data.draw(st.permutations(_chain("a", length)))
    chains = SignerChains()
    assert _feed(chains, links) == []
    assert chains.gaps() == []
    assert chains._chains["a"].open == {length: chains._chains["a"].open[length]}


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    lengths=st.lists(st.integers(min_value=1, max_value=25), min_size=1, max_size=3),
)
def test_gaps_are_exactly_the_missing_sequences(data: st.DataObject, lengths: list[int]) -> None:
    """With envelopes dropped and the rest shuffled, gaps() names exactly the missing seqs."""
    signers = [f"signer{i}" for i in range(len(lengths))]
    kept: list[Link] = []
    expected: list[tuple[str, int, int]] = []
    for signer, length in zip(signers, lengths, strict=True):
        present = data.draw(
            st.sets(st.integers(min_value=1, max_value=length), min_size=1), label=signer
        )
        kept.extend(link for link in _chain(signer, length) if link[1] in present)
        expected.extend(_missing_ranges(signer, present))
    chains = SignerChains()
    assert _feed(chains, data.draw(st.permutations(kept), label="order")) == []
    assert sorted(chains.gaps()) == sorted(expected)


def test_gap_before_the_first_envelope_seen() -> None:
    """A chain first seen at seq 4 reports seqs 1–3 missing, and a hole in the middle too."""
    chains = SignerChains()
    links = [link for link in _chain("a", 9) if link[1] in {4, 5, 8, 9}]
    assert _feed(chains, links) == []
    assert chains.gaps() == [("a", 1, 3), ("a", 6, 7)]


@pytest.mark.parametrize("duplicate_at", [1, 2, 5])
def test_reused_sequence_number_is_a_fault_at_the_reuse(duplicate_at: int) -> None:
    """An envelope reusing a seq already seen is a fault at the later entry's index."""
    links = _chain("a", 5)
    signer, seq, _, prev = links[duplicate_at - 1]
    links.append((signer, seq, hashlib.sha256(b"other").digest(), prev))
    chains = SignerChains()
    faults = _feed(chains, links)
    assert [fault.index for fault in faults] == [5]
    assert f"reuses sequence number {duplicate_at}" in faults[0].what


def test_reused_sequence_number_out_of_order() -> None:
    """A reused seq arriving before the rest of the chain is still caught, at its own index."""
    links = [("a", 3, _hash("a", 3), _hash("a", 2)), ("a", 3, _hash("x", 3), _hash("a", 2))]
    links += _chain("a", 2)
    chains = SignerChains()
    faults = _feed(chains, links)
    assert faults == [ChainFault(1, "signer a reuses sequence number 3")]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), length=st.integers(min_value=2, max_value=30))
def test_wrong_prev_is_a_fault_at_its_own_entry(data: st.DataObject, length: int) -> None:
    """One envelope with a wrong prev gives exactly one fault, at that envelope's index."""
    bad_seq = data.draw(st.integers(min_value=1, max_value=length), label="bad_seq")
    links = _chain("a", length)
    links[bad_seq - 1] = ("a", bad_seq, _hash("a", bad_seq), hashlib.sha256(b"wrong").digest())
    order = data.draw(st.permutations(links), label="order")
    bad_index = next(i for i, link in enumerate(order) if link[1] == bad_seq)
    faults = _feed(SignerChains(), order)
    assert [fault.index for fault in faults] == [bad_index]


def test_wrong_prev_arriving_after_its_predecessor() -> None:
    """A wrong prev seen after envelope seq-1 is reported at the wrong entry's index."""
    links = _chain("a", 3)
    links[2] = ("a", 3, _hash("a", 3), _hash("a", 1))
    assert _feed(SignerChains(), links) == [ChainFault(2, "signer a seq 3: prev is not envelope 2")]


def test_wrong_prev_arriving_before_its_predecessor() -> None:
    """A wrong prev seen before envelope seq-1 is reported, when seq-1 arrives, at the wrong one."""
    links = _chain("a", 3)
    wrong = ("a", 3, _hash("a", 3), _hash("a", 1))
    chains = SignerChains()
    faults = _feed(chains, [wrong, links[0], links[1]])
    assert faults == [ChainFault(0, "signer a seq 3: prev is not envelope 2")]


def test_first_envelope_with_non_zero_prev() -> None:
    """Seq 1 with a prev other than 32 zero bytes is a fault at that entry."""
    chains = SignerChains()
    assert chains.add(0, "b", 2, _hash("b", 2), _hash("b", 1)) == []
    faults = chains.add(1, "b", 1, _hash("b", 1), b"\x01" * 32)
    assert faults == [ChainFault(1, "signer b's first envelope has a non-zero prev")]


def test_signers_do_not_share_chains() -> None:
    """Signer b's seq 2 naming signer a's seq 1 as prev is a fault; the same seqs never clash."""
    chains = SignerChains()
    assert chains.add(0, "a", 1, _hash("a", 1), GENESIS) == []
    assert chains.add(1, "b", 1, _hash("b", 1), GENESIS) == []
    assert chains.add(2, "b", 2, _hash("b", 2), _hash("a", 1)) == [
        ChainFault(2, "signer b seq 2: prev is not envelope 1")
    ]


def test_memory_stays_bounded_for_in_order_chains() -> None:
    """After 10,000 in-order entries from 3 signers, each open set holds at most one envelope."""
    chains = SignerChains()
    next_seq = dict.fromkeys("abc", 1)
    for index in range(10_000):
        signer = "abc"[index % 3 if index % 7 else 0]  # uneven interleaving
        seq = next_seq[signer]
        prev = GENESIS if seq == 1 else _hash(signer, seq - 1)
        assert chains.add(index, signer, seq, _hash(signer, seq), prev) == []
        next_seq[signer] += 1
        for chain in chains._chains.values():
            assert len(chain.open) <= 1
            assert len(chain.seen) == 1
    assert set(chains._chains) == set("abc")
    for signer, chain in chains._chains.items():
        assert list(chain.open) == [next_seq[signer] - 1]
        assert chain.seen == [[1, next_seq[signer] - 1]]
    assert chains.gaps() == []


def test_memory_is_released_when_a_shuffled_chain_closes() -> None:
    """Once out-of-order envelopes link up, only the newest one stays open."""
    chains = SignerChains()
    links = _chain("a", 1000)
    order = links[1::2] + links[0::2]  # all even seqs first, then the odd ones
    assert _feed(chains, order) == []
    assert list(chains._chains["a"].open) == [1000]
    assert chains._chains["a"].seen == [[1, 1000]]
