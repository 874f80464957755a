"""The verify benchmark: both libraries and every path verify the same envelopes at a rate."""

from __future__ import annotations

from typer.testing import CliRunner

from traceability.bench.verify import LIBRARIES, measure
from traceability.cli.app import app


def test_both_libraries_and_every_path_are_measured_on_the_same_envelopes() -> None:
    """One round of each figure, a positive rate for the two libraries and the five paths."""
    figures = measure(messages=100, rounds=1, seconds=0.05, say=lambda _: None)
    assert set(figures.raw) == set(LIBRARIES)
    assert len(figures.paths) == 5
    assert all(figures.median(name) > 0 for name in [*LIBRARIES, *figures.paths])


def test_bench_verify_prints_the_rates_side_by_side() -> None:
    """`herbtrace bench verify` prints libsodium's and OpenSSL's rates and the paths'."""
    result = CliRunner().invoke(
        app, ["bench", "verify", "--messages", "100", "--rounds", "1", "--seconds", "0.05"]
    )
    assert result.exit_code == 0, result.output
    assert "libsodium (PyNaCl" in result.output
    assert "OpenSSL (cryptography" in result.output
    assert "audit: entry check" in result.output
