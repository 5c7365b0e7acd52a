"""Settings: precedence, file errors, and the README's configuration table."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from oyren.errors import InputError
from oyren.settings import (
    _TOML_TOKEN,
    MAX_TOML_DEPTH,
    describe_settings,
    load_settings,
    loads_toml,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def test_settings_default_without_file_or_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.database_url == "sqlite:///oyren.db"
    assert settings.user != ""


def test_settings_file_in_working_folder_overrides_default(tmp_path: Path) -> None:
    (tmp_path / "oyren.toml").write_text('database_url = "sqlite:///contest.db"\nuser = "leyla"\n')
    settings = load_settings(environ={}, cwd=tmp_path)
    assert (settings.database_url, settings.user) == ("sqlite:///contest.db", "leyla")


def test_settings_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('database_url = "sqlite:///file.db"\nuser = "leyla"\n')
    settings = load_settings(
        config=config, environ={"OYREN_DATABASE_URL": "sqlite:///env.db"}, cwd=tmp_path
    )
    assert (settings.database_url, settings.user) == ("sqlite:///env.db", "leyla")


def test_settings_missing_config_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_settings(config=tmp_path / "absent.toml", environ={})
    assert info.value.path == str(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('colour = "blue"\n', "colour"),
        ("database_url = 5\n", "database_url"),
        ('user = "  "\n', "user"),
    ],
)
def test_settings_bad_key_in_file_names_field(tmp_path: Path, text: str, field: str) -> None:
    (tmp_path / "oyren.toml").write_text(text)
    with pytest.raises(InputError) as info:
        load_settings(environ={}, cwd=tmp_path)
    assert info.value.field == field


def test_settings_file_not_toml_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "oyren.toml").write_text("database_url = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings(environ={}, cwd=tmp_path)


def test_settings_empty_environment_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="OYREN_USER"):
        load_settings(environ={"OYREN_USER": " "}, cwd=tmp_path)


def test_settings_each_has_help() -> None:
    assert all(len(info.help) > 20 for info in describe_settings())


def test_settings_each_documented_in_readme() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", section, re.M)}
    missing = [i.name for i in describe_settings() if i.env not in rows.get(i.name, "")]
    unknown = sorted(set(rows) - {i.name for i in describe_settings()})
    assert (missing, unknown) == ([], [])


def test_settings_file_nested_thousands_deep_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "oyren.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InputError, match="nested too deeply"):
        load_settings(config=path, environ={})


def test_loads_toml_refuses_nesting_past_its_limit_not_pythons() -> None:
    # The limit is Öyrən's, the same however deep the caller's stack is: one level past it is
    # refused though tomllib itself could read it.
    at_limit = "x = " + "[" * MAX_TOML_DEPTH + "]" * MAX_TOML_DEPTH
    over = "x = " + "[" * (MAX_TOML_DEPTH + 1) + "]" * (MAX_TOML_DEPTH + 1)
    assert "x" in loads_toml(at_limit)
    with pytest.raises(tomllib.TOMLDecodeError, match=r"^arrays or tables nested too deeply$"):
        loads_toml(over)
    with pytest.raises(tomllib.TOMLDecodeError, match="nested too deeply"):
        loads_toml("a = " + "{ b = " * 101 + "1" + " }" * 101)


@pytest.mark.parametrize(
    "text",
    [
        'x = "' + "[{" * 5000 + '"',
        "x = '" + "[" * 5000 + "'",
        'x = """\n' + "[" * 5000 + '\n"""',
        "x = '''\n" + "{" * 5000 + "\n'''",
        'x = """ends in quotes[""""\ny = "' + "[" * 200 + '"',
        'x = "escaped \\" quote [[[["\ny = 1',
        "# " + "[" * 5000 + "\nx = 1",
        '"key[[[[" = 1\n[table]\n[[list]]\nz = [[1], [2, [3]]]',
    ],
    ids=[
        "basic",
        "literal",
        "multi-line",
        "multi-line-literal",
        "quotes-before-close",
        "escaped-quote",
        "comment",
        "keys-and-headers",
    ],
)
def test_loads_toml_brackets_in_strings_and_comments_are_not_nesting(text: str) -> None:
    assert loads_toml(text) == tomllib.loads(text)


def test_loads_toml_still_reports_other_errors_as_tomllib_does() -> None:
    with pytest.raises(tomllib.TOMLDecodeError, match=r"^Unterminated string"):
        loads_toml('x = "unterminated [[[[')


@pytest.mark.parametrize(
    "text",
    [
        '"' + '\\"' * 100,
        '"""' + '\\"' * 100,
        "'" * 200,
        "'''" + "a'" * 100,
        '"abc\\',
        '"""abc\\',
        'x = "\\"\\"\n' * 20,
        '"' * 200,
    ],
)
def test_loads_toml_scan_stays_linear_on_strings_left_open(text: str) -> None:
    # The scan is linear only if a token, once begun, always matches: a pattern that could fail
    # would be tried again from every later quote (quadratic: minutes for a 1 MiB run of '\"').
    for start, char in enumerate(text):
        if char in "\"'#[]{}":
            assert _TOML_TOKEN.match(text, start) is not None, start
    with pytest.raises(tomllib.TOMLDecodeError):
        loads_toml(text)


def test_loads_toml_refuses_nesting_a_caller_near_its_stack_limit_cannot_read() -> None:
    """Nesting within the limit, read by a caller with little stack left, is refused as a TOML
    error like nesting past it, not as Python's RecursionError."""
    text = "x = " + "[" * MAX_TOML_DEPTH + "]" * MAX_TOML_DEPTH
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)  # room for the call, not for tomllib's recursion
    try:
        with pytest.raises(tomllib.TOMLDecodeError, match="nested too deeply"):
            loads_toml(text)
    finally:
        sys.setrecursionlimit(limit)
    assert loads_toml(text) == tomllib.loads(text)
