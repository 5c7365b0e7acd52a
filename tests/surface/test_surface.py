"""The outer surface stays what it was unless changed on purpose, and the layers stay layered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.surface.record import RECORD, surface

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "oyren"


def test_commands_and_routes_are_the_recorded_ones() -> None:
    # After a deliberate change of a command, an option or a route, record it again with
    # `python tests/surface/record.py` and let the diff show what changed.
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    live = surface()
    assert live["cli"] == recorded["cli"]
    assert live["http"] == recorded["http"]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command is not None, "import-linter is installed with the dev dependencies"
    return subprocess.run(
        [command, "--config", str(root / ".importlinter")],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def copy_of_the_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    shutil.copytree(SRC, root / "src" / "oyren", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", root / ".importlinter")
    return root


def test_the_contracts_hold_on_the_tree(copy_of_the_tree: Path) -> None:
    result = _lint_imports(copy_of_the_tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("rules/engine.py", "from oyren.store import db as _upward", "Layers"),
        ("pages/public.py", "import sqlalchemy as _direct", "SQLAlchemy only in the store"),
        ("web/render.py", "from oyren.sandbox import simulate as _sideways", "Layers"),
    ],
)
def test_an_import_against_the_layers_fails_the_check(
    copy_of_the_tree: Path, module: str, line: str, contract: str
) -> None:
    path = copy_of_the_tree / "src" / "oyren" / module
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + f"\n{line}  # noqa\n", encoding="utf-8")
        result = _lint_imports(copy_of_the_tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout


def test_no_sqlalchemy_outside_the_store() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        if "store" not in path.relative_to(SRC).parts[:1]
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if text.lstrip().startswith(("from sqlalchemy", "import sqlalchemy"))
    ]
    assert offenders == []


def _layout_modules(layout: str) -> set[str]:
    """The modules the README's Layout block names, as paths below src/oyren."""
    block = layout[layout.index("```") + 3 : layout.rindex("```")]
    named: set[str] = set()
    package = inner = ""
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        words = line.split()
        if not words or words[0] == "src/oyren/":
            continue
        if indent == 2:
            package, inner = (words[0] if words[0].endswith("/") else ""), ""
            if not package:  # the base modules, on one line
                named.update(w for w in words if w.endswith(".py"))
        elif indent == 4 and package:
            inner = words[0] if words[0].endswith("/") else ""
            found = re.findall(r"\b(\w+\.py)\b", line) if inner else [words[0]]
            named.update(f"{package}{inner}{name}" for name in found)
        elif indent > 4 and inner:  # a subpackage's modules, continued
            named.update(f"{package}{inner}{n}" for n in re.findall(r"\b(\w+\.py)\b", line))
    return named


def test_every_module_is_in_the_readme_layout() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = _layout_modules(text[text.index("## Layout") : text.index("## Development")])
    modules = {
        "/".join(path.relative_to(SRC).parts)
        for path in SRC.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py") and "migrations" not in path.parts
    }
    assert sorted(modules - named) == []
    assert sorted(named - modules) == []  # and nothing that is no longer there
