"""Tests mirror the packages: every module of ``src/oyren`` has its own test file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "oyren"
TESTS = ROOT / "tests"


def mirrored_test(module: Path, src: Path) -> Path:
    """Where the tests of ``module`` (a path under ``src``) live, relative to the tests folder.

    ``src/oyren/<package path>/<module>.py`` is tested by ``tests/<package path>/test_<module>.py``;
    a top-level module by ``tests/test_<module>.py``. A ``__main__.py`` is tested by
    ``test_main.py`` in its package's test folder (its dunders dropped), so ``python -m oyren``
    has ``tests/test_main.py``.
    """
    relative = module.relative_to(src)
    name = relative.stem.strip("_") if relative.name == "__main__.py" else relative.stem
    return relative.parent / f"test_{name}.py"


def modules(src: Path) -> list[Path]:
    """Every module that needs a test file: all ``.py`` files but ``__init__.py`` and the
    Alembic migrations (the store's tests upgrade and downgrade them as a whole)."""
    migrations = src / "store" / "migrations"
    return sorted(
        path
        for path in src.rglob("*.py")
        if path.name != "__init__.py" and not path.is_relative_to(migrations)
    )


def missing_tests(src: Path, tests: Path) -> list[str]:
    """The modules under ``src`` whose mirrored test file is not under ``tests``, each as
    ``module -> expected test file``."""
    return [
        f"{path.relative_to(src)} -> {mirrored_test(path, src)}"
        for path in modules(src)
        if not (tests / mirrored_test(path, src)).is_file()
    ]


def test_every_module_has_its_mirrored_test_file() -> None:
    missing = missing_tests(SRC, TESTS)
    assert not missing, "modules without their test file:\n" + "\n".join(missing)


def test_missing_tests_names_each_module_without_its_file(tmp_path: Path) -> None:
    src, tests = tmp_path / "src", tmp_path / "tests"
    for name in (
        "__init__.py",
        "__main__.py",
        "errors.py",
        "store/__init__.py",
        "store/rows.py",
        "store/migrations/env.py",
        "store/migrations/versions/0001_initial.py",
        "web/render.py",
    ):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("")
    for name in ("test_errors.py", "store/test_rows.py", "store/test_migrations.py"):
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text("")
    # A test file of the right name in the wrong package does not count.
    (tests / "test_render.py").write_text("")

    assert missing_tests(src, tests) == [
        "__main__.py -> test_main.py",
        "web/render.py -> web/test_render.py",
    ]

    (tests / "test_main.py").write_text("")
    (tests / "web").mkdir()
    (tests / "web" / "test_render.py").write_text("")
    assert missing_tests(src, tests) == []


def test_mirrored_test_of_a_nested_module_keeps_its_package_path() -> None:
    module = SRC / "collect" / "connectors" / "tiktok.py"
    assert mirrored_test(module, SRC) == Path("collect/connectors/test_tiktok.py")
    assert (TESTS / mirrored_test(module, SRC)).is_file()
