"""The vendored Swagger UI and ReDoc files are the ones recorded, with their licences."""

from __future__ import annotations

import hashlib
import re

from api.security_headers import VENDOR_DIR


def test_vendored_files_match_the_checksums_in_their_readme() -> None:
    """Every file under api/static/vendor is listed with its SHA-256 and matches it."""
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `([\w./-]+)` \| `([0-9a-f]{64})` \|", readme))
    present = {
        str(p.relative_to(VENDOR_DIR))
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert set(listed) == present
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name


def test_each_vendored_package_keeps_its_licence() -> None:
    """Swagger UI keeps its Apache-2.0 licence and NOTICE, ReDoc its MIT licence, and each
    bundle the notices of the libraries inside it."""
    swagger, redoc = VENDOR_DIR / "swagger-ui", VENDOR_DIR / "redoc"
    assert "Apache License" in (swagger / "LICENSE").read_text(encoding="utf-8")
    assert (swagger / "NOTICE").is_file()
    assert (swagger / "swagger-ui-bundle.js.LICENSE.txt").is_file()
    assert "MIT License" in (redoc / "LICENSE").read_text(encoding="utf-8")
    assert (redoc / "redoc.standalone.js.LICENSE.txt").is_file()
