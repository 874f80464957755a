"""Go's reference sumdb/note and sumdb/tlog (golang.org/x/mod) verify a live herbtrace server."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import support
import uvicorn
from fastapi import FastAPI

from api.main import create_app
from traceability.ledger import Ledger, initialise
from traceability.log.checkpointing import StoredCheckpoint
from traceability.settings import Settings

GO_PROGRAM = Path(__file__).parent / "go" / "verifylog"
DEBIAN_GOPATH = "/usr/share/gocode"  # where golang-golang-x-mod-dev installs golang.org/x/mod
X_MOD_NOTE = Path("src", "golang.org", "x", "mod", "sumdb", "note")
OLD_SIZE, NEW_SIZE = 137, 311
INDEXES = [0, 1, 63, 64, 136, 137, 200, NEW_SIZE - 1]


def go_or_skip() -> tuple[str, str]:
    """Return the go binary and a GOPATH holding x/mod, or skip (fail in CI) without them."""
    go = shutil.which("go")
    gopath = os.environ.get("HERBTRACE_GOPATH", DEBIAN_GOPATH)
    missing = None
    if go is None:
        missing = "`go` is not on PATH (Debian: apt-get install golang-go golang-golang-x-mod-dev)"
    elif not (Path(gopath) / X_MOD_NOTE).is_dir():
        missing = f"golang.org/x/mod is not under GOPATH {gopath} (golang-golang-x-mod-dev)"
    if missing is None and go is not None:
        return go, gopath
    if os.environ.get("HERBTRACE_REQUIRE_INTEROP") == "1":
        pytest.fail(f"HERBTRACE_REQUIRE_INTEROP=1 but {missing}")
    pytest.skip(f"Go interop check skipped: {missing}")


def build_verifier(go: str, gopath: str, out: Path) -> Path:
    """Build tests/interop/go/verifylog in GOPATH mode against x/mod; return the binary."""
    binary = out / "verifylog"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": gopath,
        "GOCACHE": str(out / "gocache"),
        "GOFLAGS": "",
    }
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=GO_PROGRAM,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, f"go build failed:\n{built.stdout}{built.stderr}"
    return binary


def seed(settings: Settings) -> tuple[StoredCheckpoint, StoredCheckpoint]:
    """Fill a fresh log with NEW_SIZE entries, checkpointed at OLD_SIZE and at NEW_SIZE."""
    initialise(settings)
    signers = [support.TestSigner(), support.TestSigner()]
    with Ledger(settings) as ledger:
        for signer in signers:
            signer.register(ledger.engine)
        checkpoints = []
        for count in (OLD_SIZE, NEW_SIZE - OLD_SIZE):
            ledger.append([signers[k % 2].next() for k in range(count)])
            issued = ledger.checkpointer.issue(ledger.engine)
            assert issued is not None
            checkpoints.append(issued)
    old, new = checkpoints
    assert (old.tree_size, new.tree_size) == (OLD_SIZE, NEW_SIZE)
    return old, new


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn on a free localhost port in a thread; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn exited before it started serving"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run(
    binary: Path, base: str, old_size: int, old_root: bytes
) -> subprocess.CompletedProcess[str]:
    """Run the Go verifier against `base`, checking INDEXES and consistency from the old tree."""
    root64 = base64.b64encode(old_root).decode()
    args = ["-url", base, "-old-size", str(old_size), "-old-root", root64, *map(str, INDEXES)]
    return subprocess.run(
        [str(binary), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_go_reference_code_verifies_the_log(tmp_path: Path) -> None:
    """Go's note.Open, tlog.CheckRecord and CheckTree accept the live log but not a bad root."""
    go, gopath = go_or_skip()
    binary = build_verifier(go, gopath, tmp_path)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/interop.db",
        log_origin="interop.herbtrace/log",
        checkpoint_interval=3600,  # only the two checkpoints seed() issues
    )
    old, _new = seed(settings)

    with serve(create_app(settings)) as base:
        good = run(binary, base, old.tree_size, old.root)
        tampered_root = bytes([old.root[0] ^ 0x01]) + old.root[1:]
        bad = run(binary, base, old.tree_size, tampered_root)

    assert good.returncode == 0, f"Go verifier failed:\n{good.stdout}{good.stderr}"
    assert f"size {NEW_SIZE} root" in good.stdout
    assert good.stdout.count("is included in tree") == len(INDEXES) + sum(
        i < OLD_SIZE for i in INDEXES
    )
    assert f"tree {OLD_SIZE} is a prefix of tree {NEW_SIZE}" in good.stdout
    assert bad.returncode == 1, f"tampered run passed:\n{bad.stdout}{bad.stderr}"
    assert f"consistency of tree {OLD_SIZE} with tree {NEW_SIZE}" in bad.stderr
    assert f"inclusion of entry 0 in tree {OLD_SIZE}" in bad.stderr
