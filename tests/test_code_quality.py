"""The code keeps its boundaries and its house style: the checkers run as part of the suite.

The import contracts live in pyproject.toml (`[tool.importlinter]`); ruff and mypy read their
settings from the same file. Each test runs one checker from the project's own environment and,
when it fails, shows what the checker printed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )


def _explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"{' '.join(result.args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param((BIN / "lint-imports", "--no-cache"), id="import-contracts"),
        pytest.param((sys.executable, "-m", "ruff", "check", "."), id="ruff-check"),
        pytest.param((sys.executable, "-m", "ruff", "format", "--check", "."), id="ruff-format"),
        pytest.param((sys.executable, "-m", "mypy"), id="mypy"),
    ],
)
def test_the_checker_finds_nothing_to_report(command: tuple[str | Path, ...]) -> None:
    result = _run(*command)
    if result.returncode != 0:
        pytest.fail(_explain(result), pytrace=False)


def test_a_broken_import_contract_names_the_offending_import(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "__init__.py").write_text("")
    (shop / "web.py").write_text("")
    (shop / "core.py").write_text("import shop.web\n")
    config = tmp_path / "contracts.toml"
    config.write_text(
        textwrap.dedent(
            """\
            [tool.importlinter]
            root_packages = ["shop"]

            [[tool.importlinter.contracts]]
            name = "The core does not import the web layer"
            type = "forbidden"
            source_modules = ["shop.core"]
            forbidden_modules = ["shop.web"]
            """
        )
    )

    result = _run(BIN / "lint-imports", "--no-cache", "--config", config, cwd=tmp_path)

    explained = _explain(result)
    assert result.returncode == 1, explained
    assert "The core does not import the web layer BROKEN" in result.stdout, explained
    assert "shop.core -> shop.web (l.1)" in result.stdout, explained
