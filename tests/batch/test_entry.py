"""Observations entering the plan: DuckDB's reading of JSONL agrees with the validating reader."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.batch.entry import (
    PARQUET_COLUMNS,
    PREFIX_BYTES,
    PY_SPACES,
    _jsonl_select,
    entered,
    folded_parquet,
    hashtags_beside,
    jsonl_in_sql,
    observations_sql,
    polled,
)
from oyren.errors import InputError
from oyren.inputs.columnar import SCHEMA, to_parquet
from oyren.inputs.observations import SkipReport

BASE = {
    "id": "7330000000010000001",
    "username": "leyla_baku",
    "create_time": 1713738482,
    "region_code": "AZ",
    "video_description": "Dərs #TikTokdanÖyrən",
    "hashtag_names": ["TikTokdanÖyrən", "təhsil"],
    "video_duration": 31,
    "view_count": 30,
    "like_count": 1,
    "comment_count": 0,
    "share_count": 0,
    "collected_at": 1713744009,
    "music_id": "7000000000508721945",
}


def _line(**changes: object) -> bytes:
    record = {**BASE, **changes}
    return orjson.dumps({k: v for k, v in record.items() if v is not _DROP})


_DROP = object()


def _rows(path: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        names = ", ".join(SCHEMA.names)
        sql = f"SELECT {names} FROM ({observations_sql(path)}) ORDER BY row_ordinal"
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _reader(path: Path, tmp: Path) -> list[tuple[object, ...]] | None:
    """The rows the validating reader writes, or None when it refuses the file."""
    dest = tmp / "reader.parquet"
    try:
        to_parquet(path, dest)
    except InputError:
        return None
    return _rows(dest)


def _sql(path: Path, tmp: Path) -> list[tuple[object, ...]] | None:
    """The rows DuckDB writes when its checks vouch for the file, else None."""
    dest = tmp / "sql.parquet"
    for written in (dest, hashtags_beside(dest)):
        written.unlink(missing_ok=True)
    return _rows(dest) if jsonl_in_sql(path, dest) else None


def _agree(content: bytes, tmp: Path) -> tuple[bool, bool]:
    """Check that DuckDB accepts only what the reader accepts, with the same rows; return
    (accepted by the reader, accepted by DuckDB)."""
    path = tmp / "observations.jsonl"
    path.write_bytes(content)
    theirs = _reader(path, tmp)
    ours = _sql(path, tmp)
    if ours is not None:
        assert ours == theirs
    return theirs is not None, ours is not None


def _file(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def test_jsonl_in_sql_writes_what_the_reader_writes(tmp_path):
    lines = [
        _line(),
        _line(id=7330000000010000002, view_count=0, region_code="az"),
        _line(hashtag_names=[" #tag ", "\u3000TikTokdanÖyrən\u00a0", "  ", "ＴＩＫＴＯＫdanÖYRƏN"]),
        _line(hashtag_names=_DROP, video_description="Bax #TİKTOKDANÖYRƏN və #öyrən"),
        _line(username="Straße_ẞ", video_description='a "quoted"\nline\\ with / slash'),
        _line(region_code="", music_id="", video_duration=_DROP, like_count=_DROP),
        _line(music_id=7000000000508721945, voice_to_text="salam"),
        _line(id="18446744073709551615", collected_at=1713738482),
    ]
    assert _agree(_file(*lines), tmp_path) == (True, True)


def test_usernames_beyond_ascii_are_casefolded_as_python_does(tmp_path):
    path = tmp_path / "observations.jsonl"
    names = ["Straße", "İlkin", "ΣΊΣΥΦΟΣ", "leyla_BAKU", "ﬁdan"]
    path.write_bytes(_file(*(_line(username=name) for name in names)))
    dest = tmp_path / "sql.parquet"
    assert jsonl_in_sql(path, dest)
    con = duckdb.connect()
    folded = con.execute(f"SELECT username_folded FROM read_parquet('{dest}')").fetchall()
    assert [row[0] for row in folded] == [name.casefold() for name in names]


def test_jsonl_in_sql_file_without_final_newline_and_empty_file(tmp_path):
    assert _agree(_line() + b"\n" + _line(view_count=5), tmp_path) == (True, True)
    assert _agree(b"", tmp_path) == (True, True)


# Lines the reader refuses: DuckDB must refuse them too (or the file would read differently).
REFUSED = {
    "float with a fraction": _line(view_count=1.5),
    "string for a count": _line(view_count="5"),
    "boolean for a count": _line(like_count=True),
    "negative count": _line(share_count=-1),
    "count past the limit": _line(view_count=10**15 + 1),
    "integer past 64 bits": _line().replace(b":30,", b":18446744073709551616,"),
    "id past 2^64-1": _line().replace(b'"7330000000010000001"', b"18446744073709551616"),
    "float id": _line().replace(b'"7330000000010000001"', b"7.3e18"),
    "id with letters": _line(id="73x"),
    "key written twice": _line().replace(b'"view_count":30', b'"view_count":30,"view_count":31'),
    "unknown key twice": _line().replace(b"{", b'{"x":1,"x":2,', 1),
    "nested key twice": _line().replace(b"{", b'{"x":{"a":1,"a":2},', 1),
    "trailing comma": _line().replace(b"}", b",}"),
    "trailing comma in the list": _line().replace(b'"t\xc9\x99hsil"]', b'"t\xc9\x99hsil",]'),
    "NaN in an unknown key": _line().replace(b"{", b'{"x":NaN,', 1),
    "Infinity for a count": _line().replace(b'"like_count":1', b'"like_count":Infinity'),
    "byte-order mark": b"\xef\xbb\xbf" + _line(),
    "array line": b"[1, 2]",
    "null line": b"null",
    "number for the username": _line(username=12345),
    "blank username": _line(username="\u3000 "),
    "long username": _line(username="u" * 25),
    "region not letters": _line(region_code="A1"),
    "region too long": _line(region_code="AZE"),
    "tag not a string": _line(hashtag_names=["a", 5]),
    "hashtags as a string": _line(hashtag_names="a b"),
    "tag too long": _line(hashtag_names=["a" * 201]),
    "NUL in a tag": _line(hashtag_names=["a\x00b"]),
    "NUL in the description": _line(video_description="a\x00b"),
    "description too long": _line(video_description="ə" * 4001),
    "seen before posted": _line(collected_at=1713738481),
    "time before 2014": _line(create_time=1_000_000_000, collected_at=1_000_000_001),
    "missing view_count": _line(view_count=_DROP),
    "missing username": _line(username=_DROP),
    "null view_count": _line(view_count=None),
    "null username": _line(username=None),
    "null id beside a video_id": _line(id=None, video_id="7330000000010000001"),
    "a key given, then null": _line(music_id=None).replace(
        b'"music_id":null', b'"music_id":"7","music_id":null'
    ),
    "a key null, then given": _line(music_id=None).replace(
        b'"music_id":null', b'"music_id":null,"music_id":"7"'
    ),
    "a key null twice": _line(music_id=None).replace(
        b'"music_id":null', b'"music_id":null,"music_id":null'
    ),
    "float music_id": _line(music_id=1.5),
    "comment after the object": _line() + b" // note",
    "two objects on a line": _line() + _line(),
}


@pytest.mark.parametrize("line", REFUSED.values(), ids=REFUSED.keys())
def test_jsonl_in_sql_refuses_what_the_reader_refuses(tmp_path, line):
    reader, sql = _agree(_file(_line(), line, _line(view_count=99)), tmp_path)
    assert (reader, sql) == (False, False)


def _past_the_prefix(*lines: bytes, first: bytes | None = None) -> bytes:
    """Valid lines (``first``, else a compact one) filling more than the start of the file that
    is checked first, then ``lines``: only DuckDB's pass over the whole file sees them."""
    first = first or _line()
    return _file(*[first] * (PREFIX_BYTES // len(first) + 2), *lines)


@pytest.mark.parametrize("line", REFUSED.values(), ids=REFUSED.keys())
def test_jsonl_in_sql_refuses_past_the_prefix_what_the_reader_refuses(tmp_path, line):
    path = tmp_path / "observations.jsonl"
    path.write_bytes(_past_the_prefix(line, _line(view_count=99)))
    assert not jsonl_in_sql(path, tmp_path / "sql.parquet")


def test_a_file_whose_start_the_checks_cannot_vouch_for_is_not_read_whole(tmp_path):
    tab = orjson.dumps(BASE).replace(b'":', b'":\t')
    for start in (tab, _line(view_count=30.0), b"", b" \r"):
        path = tmp_path / "observations.jsonl"
        path.write_bytes(_file(_line(), start) + _past_the_prefix())
        dest = tmp_path / "sql.parquet"
        assert not jsonl_in_sql(path, dest)
        assert not dest.exists()  # DuckDB never wrote the file: the reader reads it
        assert _agree(path.read_bytes(), tmp_path)[0]


def test_a_valid_file_longer_than_the_prefix_is_read_by_duckdb(tmp_path):
    # The prefix ends inside a line, whichever the line lengths.
    content = _past_the_prefix(_line(username="x" * 20), _line(view_count=5))
    assert len(content) > PREFIX_BYTES and content[PREFIX_BYTES - 1 : PREFIX_BYTES] != b"\n"
    path = tmp_path / "observations.jsonl"
    path.write_bytes(content)
    dest = tmp_path / "sql.parquet"
    assert jsonl_in_sql(path, dest)
    assert _agree(content, tmp_path) == (True, True)


def _dumped(record: dict[str, object]) -> bytes:
    """A record as Python's json.dumps writes it by default (", " and ": "), letters as they are."""
    return json.dumps(record, ensure_ascii=False).encode()


def test_jsonl_in_sql_reads_lines_written_as_python_writes_them_itself(tmp_path):
    """Lines with spaces between the tokens and letters past ASCII as escapes, as Python's
    json.dumps writes them, stay on DuckDB's side; so do compact lines among them, letters as
    they are, and spaces where the writer chose to put them."""
    records = [
        BASE,
        {**BASE, "video_description": 'a ": b, "c" , d', "hashtag_names": ["a, b", " x "]},
        {**BASE, "id": 7330000000010000002, "username": "Straße ẞ", "voice_to_text": "  "},
        {k: v for k, v in BASE.items() if k not in ("hashtag_names", "region_code")},
        {**BASE, "video_description": '😀 € ə\n\t\\ / "x" \u0001 \u2028', "hashtag_names": ["😀"]},
    ]
    lines = [_dumped(record) for record in records]
    lines += [json.dumps(record).encode() for record in records]  # letters as escapes
    lines.append(json.dumps(records[-1], separators=(",", ":")).encode())  # compact, escaped
    lines.append(json.dumps(BASE).encode().replace(b"\\u00d6", b"\\u00D6"))
    lines.append(_line(view_count=7))  # compact
    lines.append(
        b'{ "id" :"7330000000010000003" ,' + _line()[len(b'{"id":"7330000000010000001",') :]
    )
    lines.append(_dumped(BASE).replace(b'["', b'[ "').replace(b'"]', b'" ]'))
    assert _agree(_file(*lines), tmp_path) == (True, True)
    assert _agree(_past_the_prefix(*lines, first=lines[0]), tmp_path) == (True, True)
    # How a file is written is told by its start: spaced lines after compact ones go to the
    # reader, which reads them.
    assert _agree(_past_the_prefix(*lines), tmp_path) == (True, False)


# Lines written as json.dumps writes them that the line checks must not take for what they are
# not: every one has bytes beyond its compact writing that are neither spaces between the tokens
# nor the escapes of its letters.
SPACED_REFUSED = {
    "key written twice": _dumped(BASE).replace(
        b'"view_count": 30', b'"view_count": 30, "view_count": 31'
    ),
    "key twice, compact": _dumped(BASE).replace(
        b'"view_count": 30', b'"view_count": 30,"view_count":31'
    ),
    "unknown key twice": _dumped(BASE).replace(b"{", b'{"x": 1, "x": 2, ', 1),
    "NaN in an unknown key": _dumped(BASE).replace(b"{", b'{"x": NaN, ', 1),
    "trailing comma": _dumped(BASE).replace(b"}", b", }"),
    "number for the username": _dumped({**BASE, "username": 12345}),
    "string for a count": _dumped({**BASE, "view_count": "5"}),
    # 24 bytes: what escaping the six letters past ASCII (two bytes each) would add.
    "key twice, where escapes would fit": _dumped(BASE).replace(
        b'"view_count": 30', b'"view_count": 30,"view_count":3123456789'
    ),
    "key twice, letters escaped": json.dumps(BASE)
    .encode()
    .replace(b'"view_count": 30', b'"view_count": 30, "view_count": 31'),
    "key twice, slashes escaped": json.dumps({**BASE, "voice_to_text": "/" * 16})
    .encode()
    .replace(b"/", b"\\/")
    .replace(b'"view_count": 30', b'"view_count":30,"view_count":31'),
}


@pytest.mark.parametrize("line", SPACED_REFUSED.values(), ids=SPACED_REFUSED.keys())
def test_the_line_checks_never_vouch_for_a_spaced_line_the_reader_refuses(tmp_path, line):
    # The line checks on their own: in a file, DuckDB's compact reading of the start (which
    # refuses a key given twice) may stop such a file first.
    path = tmp_path / "observations.jsonl"
    path.write_bytes(_file(line))
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT row_ok FROM ({_jsonl_select(path, casefold=False, by_line=True)})"
        ).fetchall()
    except duckdb.Error:
        rows = [(False,)]
    finally:
        con.close()
    assert rows == [(False,)]


@pytest.mark.parametrize("line", SPACED_REFUSED.values(), ids=SPACED_REFUSED.keys())
def test_jsonl_in_sql_refuses_spaced_lines_the_reader_refuses(tmp_path, line):
    for content in (_file(_dumped(BASE), line), _past_the_prefix(line, first=_dumped(BASE))):
        assert _agree(content, tmp_path) == (False, False)


# Lines the reader accepts that the line checks send to it all the same.
SPACED_TO_THE_READER = {
    "escaped space": _dumped({**BASE, "video_description": "a b"}).replace(b"a b", b"a\\u0020b"),
    "escaped letter among raw ones": _dumped(BASE).replace("ə".encode(), b"\\u0259"),
    "escaped letter in ASCII": json.dumps(BASE).encode().replace(b"leyla", b"\\u006ceyla"),
    "backslash as an escape": json.dumps({**BASE, "video_description": "a\\b"})
    .encode()
    .replace(b"a\\\\b", b"a\\u005cb"),
    "escaped space, one more outside": _dumped({**BASE, "video_description": "a b"})
    .replace(b"a b", b"a\\u0020b")
    .replace(b"{", b"{ ", 1),
    "tab after a colon": _dumped(BASE).replace(b'"username": ', b'"username":\t'),
    "unknown key": _dumped({**BASE, "effect_ids": ["1"]}),
    "spaces after the object": _dumped(BASE) + b"  ",
}


@pytest.mark.parametrize("line", SPACED_TO_THE_READER.values(), ids=SPACED_TO_THE_READER.keys())
def test_jsonl_in_sql_sends_other_spaced_lines_to_the_reader(tmp_path, line):
    assert _agree(_file(_dumped(BASE), line), tmp_path) == (True, False)


# Keys given as null, as a writer of fixed columns writes what is missing.
_SOME_NULL = dict.fromkeys(("region_code", "music_id", "voice_to_text", "like_count"), None)
_ALL_NULL = dict.fromkeys(
    ("video_id", "region_code", "video_description", "hashtag_names", "video_duration",
     "like_count", "comment_count", "share_count", "music_id", "voice_to_text"),
    None,
)  # fmt: skip


def test_jsonl_in_sql_reads_keys_given_as_null_itself(tmp_path):
    """Keys given as null (pandas, a database's export) stay on DuckDB's side, compact, spaced,
    escaped or with CRLF line ends, from the start or only past it, and read as the reader reads
    them: as keys left out."""
    compact = [_line(**_SOME_NULL), _line(), _line(**_ALL_NULL, view_count=9)]
    spaced = [_dumped({**BASE, **_SOME_NULL}), json.dumps({**BASE, **_ALL_NULL}).encode()]
    files = {
        "compact": _file(*compact),
        "spaced and escaped": _file(*spaced),
        "compact, crlf": _crlf(*compact),
        "spaced, crlf": _crlf(*spaced),
        "only past the prefix": _past_the_prefix(*compact),
        "others past the prefix": _past_the_prefix(*compact, first=_line(music_id=None)),
        "spaced, only past the prefix": _past_the_prefix(*spaced, first=_dumped(BASE)),
        "the pattern in a description too": _file(
            _line(video_description='x "music_id":null #y', music_id=None)
        ),
    }
    for name, content in files.items():
        assert _agree(content, tmp_path) == (True, True), name


def test_nulls_and_returns_are_counted_whole_across_blocks(tmp_path, monkeypatch):
    from oyren.batch import entry

    # Blocks of a few lines: each is cut after a newline, so no pattern is cut in two.
    monkeypatch.setattr(entry, "COUNT_BLOCK", 1000)
    lines = [_line(**_SOME_NULL, view_count=n) for n in range(40)]
    assert _agree(_past_the_prefix(*lines), tmp_path) == (True, True)
    assert _agree(_past_the_prefix(*lines)[:-1], tmp_path) == (True, True)  # no final newline
    assert _agree(_crlf(*lines), tmp_path) == (True, True)
    # A file of one line with no newline, shorter than a block, is counted when it ends.
    assert _agree(_line(**_SOME_NULL), tmp_path) == (True, True)
    assert _agree(_line() + b"\r", tmp_path) == (True, True)
    # A line longer than a block (no valid line is): the file goes to the reader.
    long = _line(**_SOME_NULL, video_description="ə" * 600)
    assert _agree(_past_the_prefix(*lines, long), tmp_path) == (True, False)
    assert _agree(_crlf(*lines, long), tmp_path) == (True, False)


# Lines with a key given as null that the reader reads but DuckDB must send to it: the pattern
# where it is not that key given as null, or given otherwise than the counts know.
NULL_TO_THE_READER = {
    "a key ending in one, beside it": _line().replace(b"{", b'{"\\"music_id":null,', 1),
    "a key ending in one, in its place": _line(music_id=None).replace(
        b'"music_id":null', b'"\\"music_id":null'
    ),
    "a key ending in one, escaped": _line(music_id=None).replace(
        b'"music_id":null', b'"x\\u0022music_id":null'
    ),
    "an unknown key given as null": _line().replace(b"{", b'{"effect_ids":null,', 1),
    "nested in an unknown key": _line(music_id=None).replace(
        b'"music_id":null', b'"x":{"music_id":null}'
    ),
    "nested twice in an unknown key": _line(music_id=None).replace(
        b'"music_id":null', b'"x":[{"music_id":null},{"music_id":null}]'
    ),
    "a space before the colon": _line(music_id=None).replace(b'":null', b'" :null'),
    "a tab after the colon": _line(music_id=None).replace(b'":null', b'":\tnull'),
}


@pytest.mark.parametrize("line", NULL_TO_THE_READER.values(), ids=NULL_TO_THE_READER.keys())
def test_jsonl_in_sql_sends_other_lines_with_nulls_to_the_reader(tmp_path, line):
    assert _agree(_file(_line(**_SOME_NULL), line), tmp_path) == (True, False)
    assert _agree(_past_the_prefix(line), tmp_path) == (True, False)
    spaced = line.replace(b',"', b', "')
    assert _agree(_file(_dumped(BASE), spaced), tmp_path) == (True, False)


def _crlf(*lines: bytes) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def test_jsonl_in_sql_reads_files_with_crlf_line_ends_itself(tmp_path):
    """A file written with CRLF line ends (as on Windows), compact or as json.dumps writes its
    lines, stays on DuckDB's side: a carriage return between the tokens reads as whitespace,
    as the reader reads it."""
    compact = [_line(), _line(view_count=7), _line(username="Straße ẞ")]
    spaced = [_dumped(BASE), json.dumps({**BASE, "view_count": 8}).encode()]
    files = {
        "compact": _crlf(*compact),
        "spaced and escaped": _crlf(*spaced),
        "past the prefix": _crlf(*[compact[0]] * (PREFIX_BYTES // len(compact[0]) + 2), *compact),
        "line ends mixed": _crlf(compact[0]) + _file(compact[1]) + _crlf(compact[2]),
        "between the tokens": _file(_line().replace(b'","', b'",\r"'), _line() + b"\r\r"),
        "spaced, between the tokens": _file(_dumped(BASE).replace(b'", "', b'",\r "', 2)),
        "no newline at the end": _crlf(*compact) + _line(view_count=9) + b"\r",
    }
    for name, content in files.items():
        assert _agree(content, tmp_path) == (True, True), name


# Files with carriage returns whose other bytes the checks cannot vouch for: a carriage return
# missing where the count expects one never pays for another byte.
CRLF_REFUSED = {
    "trailing comma": _crlf(_line(), _line().replace(b"}", b",}")),
    "trailing comma, a return short": _crlf(_line()) + _file(_line().replace(b"}", b",}")),
    "unknown key twice": _crlf(_line(), _line().replace(b"{", b'{"x":1,"x":2,', 1)),
    "NaN in an unknown key": _crlf(_line().replace(b"{", b'{"x":NaN,', 1)),
    "spaced, key twice": _crlf(
        _dumped(BASE).replace(b'"view_count": 30', b'"view_count": 30, "view_count": 31')
    ),
    "return inside a string": _crlf(_line(video_description="a").replace(b'"a"', b'"a\rb"')),
    "string for a count": _crlf(_line(), _line(view_count="5")),
    "two objects on a line, a return between": _crlf(_line() + b"\r" + _line()),
    "returns for newlines": _line() + b"\r" + _line() + b"\r",
}


@pytest.mark.parametrize("content", CRLF_REFUSED.values(), ids=CRLF_REFUSED.keys())
def test_jsonl_in_sql_refuses_crlf_files_the_reader_refuses(tmp_path, content):
    # At the start (the lines checked first) and past it (only the count over the file sees it).
    filler = _crlf(*[_line()] * (PREFIX_BYTES // len(_line()) + 2))
    for whole in (content, filler + content):
        assert _agree(whole, tmp_path) == (False, False)


# Files with carriage returns the reader reads and the checks send to it.
CRLF_TO_THE_READER = {
    "a blank line": _crlf(_line(), b"", _line()),
    "a space before the return": _crlf(_line(), _line() + b" "),
    "a tab among the returns": _crlf(_line(), _line().replace(b'","', b'",\t"', 1)),
    "an escaped return": _crlf(_line(), _line(video_description="a\rb")).replace(
        b"a\\rb", b"a\\u000db"
    ),
    "returns only past the prefix": _past_the_prefix() + _crlf(_line()),
    "spaced, a space before the return": _crlf(_dumped(BASE), _dumped(BASE) + b" "),
}


@pytest.mark.parametrize("content", CRLF_TO_THE_READER.values(), ids=CRLF_TO_THE_READER.keys())
def test_jsonl_in_sql_sends_other_files_with_returns_to_the_reader(tmp_path, content):
    assert _agree(content, tmp_path) == (True, False)


# Lines the reader accepts, some after changing them: DuckDB may send them to the reader (which
# then reads them) but must never read them differently.
ACCEPTED = {
    "float without a fraction": _line(view_count=30.0),
    "exponent count": _line().replace(b'"view_count":30', b'"view_count":3e1'),
    "integer id": _line(id=7330000000010000001),
    "id with spaces": _line(id=" 7330000000010000001 "),
    "video_id instead of id": _line(id=_DROP, video_id="7330000000010000001"),
    "both ids": _line(video_id=5),
    "object for video_id beside id": _line().replace(b"{", b'{"video_id":{"a":1},', 1),
    "ISO collected_at": _line(collected_at="2024-04-22T04:40:09+04:00"),
    "digits collected_at": _line(collected_at="1713744009"),
    "null values": _line(region_code=None, music_id=None),
    "unknown key": _line().replace(b"{", b'{"effect_ids":["1"],', 1),
    "spaces after colons": orjson.dumps(BASE).replace(b'":', b'": '),
    "space before a colon": _line().replace(b'"username":', b'"username" :'),
    "escaped key": _line().replace(b'"username"', b'"user\\u006eame"'),
    "escaped text": _line().replace(b"Ders", b"D\\u0259rs"),
    "NUL in the username": _line(username="ab\x00c"),
    "region blank": _line(region_code="  "),
    "crlf": _line() + b"\r",
    "blank lines": b"\n  \n" + _line(),
    "Unicode spaces at tag edges": _line(hashtag_names=["\u2003#\u3000tag\u2029", "\u00a0"]),
    "empty list": _line(hashtag_names=[]),
    "music_id with spaces": _line(music_id=" 7 "),
}


@pytest.mark.parametrize("line", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_jsonl_in_sql_reads_accepted_lines_as_the_reader_does(tmp_path, line):
    reader, _ = _agree(_file(_line(), line), tmp_path)
    assert reader


def test_jsonl_in_sql_reads_compact_lines_itself(tmp_path):
    """What Öyrən and the API write (compact, known fields) stays on DuckDB's side."""
    line = _line(id=7330000000010000001, hashtag_names=["\u3000x "], region_code=_DROP)
    assert _agree(_file(_line(), line), tmp_path) == (True, True)


_VALUES = st.one_of(
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.sampled_from(["", " ", "\u3000", "AZ", "az", "#", "1713744009", "18446744073709551615"]),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3),
)


_KEYS = st.sampled_from([*BASE, "video_id", "voice_to_text", "extra"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(_KEYS, _VALUES, max_size=3),
    nulls=st.sets(st.sampled_from(["id", *_ALL_NULL, "username", "view_count"])),
    spaced=st.booleans(),
    crlf=st.booleans(),
)
def test_jsonl_in_sql_never_reads_a_line_differently(tmp_path, changes, nulls, spaced, crlf):
    # The standard library writes integers past 64 bits, which orjson refuses to write.
    record = {**BASE, **dict.fromkeys(nulls), **changes}
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    if spaced:
        line = line.replace(b",", b", ")
    _agree((_crlf if crlf else _file)(_line(), line), tmp_path)


def test_entered_names_the_bad_line_or_skips_it(tmp_path):
    path = tmp_path / "observations.jsonl"
    path.write_bytes(_file(_line(), _line(view_count=-5), _line(view_count=7)))
    with pytest.raises(InputError, match=r"line 2.*view_count"), entered(path):
        pass
    skip = SkipReport()
    with entered(path, skip=skip) as parquet:
        assert len(_rows(parquet)) == 2
    assert skip.count == 1


def test_entered_reads_a_valid_file_with_duckdb(tmp_path):
    path = tmp_path / "observations.jsonl"
    path.write_bytes(_file(_line(), _line(view_count=7)))
    seen: list[int] = []
    with entered(path, progress=seen.append) as parquet:
        assert [row[4] for row in _rows(parquet)] == [30, 7]
        assert parquet != path
    assert seen == [path.stat().st_size]


class _Progressing:
    """A connection whose progress through its query goes as scripted (DuckDB's -1: none)."""

    def __init__(self, steps: list[float]) -> None:
        self.steps = steps
        self.settings: list[str] = []

    def execute(self, sql: str) -> None:
        self.settings.append(sql)

    def query_progress(self) -> float:
        return self.steps.pop(0) if self.steps else 100.0


def test_polled_reports_progress_only_when_it_goes_forward(monkeypatch):
    import time

    from oyren.batch import entry

    monkeypatch.setattr(entry, "POLL_S", 0.001)
    con = _Progressing([-1.0, 0.0, 12.5, 12.5, 5.0, 60.0])
    heard: list[float] = []
    with polled(con, heard.append):  # type: ignore[arg-type]
        deadline = time.monotonic() + 5
        while heard[-1:] != [100.0] and time.monotonic() < deadline:
            time.sleep(0.005)
    assert heard == [12.5, 60.0, 100.0]
    assert "SET enable_progress_bar_print = false" in con.settings  # DuckDB draws no bar
    untouched = _Progressing([50.0])
    with polled(untouched, None):  # type: ignore[arg-type]
        pass
    assert untouched.settings == [] and untouched.steps == [50.0]


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_entered_reports_duckdb_progress_in_the_reading_bar_units(tmp_path, monkeypatch, kind):
    """DuckDB's pass over a JSONL file reports bytes, its checks of Öyrən's Parquet rows (the
    units of the reading bar for each): the share DuckDB reports, of the file's size or rows."""
    from oyren.batch import entry

    reports: list[object] = []
    real = entry.polled

    def spy(con, report):  # type: ignore[no-untyped-def]
        reports.append(report)
        return real(con, report)

    monkeypatch.setattr(entry, "polled", spy)
    path = tmp_path / "observations.jsonl"
    path.write_bytes(_file(*(_line(view_count=n) for n in range(40))))
    total = path.stat().st_size
    if kind == "parquet":
        total = 40
        written = tmp_path / "observations.parquet"
        to_parquet(path, written)
        path = written
    heard: list[int] = []
    with entered(path, progress=heard.append) as parquet:
        assert len(_rows(parquet)) == 40
    (report,) = [r for r in reports if r is not None]
    heard.clear()
    report(50.0)  # type: ignore[operator]
    report(100.0)  # type: ignore[operator]
    assert heard == [total // 2, total]


def test_py_spaces_are_what_str_strip_removes():
    assert tuple(c for c in range(0x110000) if chr(c).isspace()) == PY_SPACES


def test_parquet_columns_are_the_columnar_schema_as_duckdb_reads_it(tmp_path):
    path = tmp_path / "empty.parquet"
    to_parquet(_empty_jsonl(tmp_path), path)
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    assert tuple((row[0], row[1]) for row in described) == PARQUET_COLUMNS
    assert tuple(name for name, _ in PARQUET_COLUMNS) == tuple(SCHEMA.names)
    assert folded_parquet(path)


def _empty_jsonl(tmp: Path) -> Path:
    path = tmp / "empty.jsonl"
    path.write_bytes(b"")
    return path


def test_folded_parquet_refuses_unmarked_other_schemas_and_what_is_not_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "observations.jsonl"
    source.write_bytes(_file(_line(), _line(view_count=7)))
    marked = tmp_path / "marked.parquet"
    to_parquet(source, marked)
    assert folded_parquet(marked)
    table = pq.read_table(marked)
    unmarked = tmp_path / "unmarked.parquet"
    pq.write_table(table.replace_schema_metadata(None), unmarked)
    narrower = tmp_path / "narrower.parquet"  # 32-bit counts: not the schema the plan expects
    pq.write_table(
        table.set_column(2, "create_time", table["create_time"].cast(pa.int32())), narrower
    )
    fewer = tmp_path / "fewer.parquet"
    pq.write_table(table.drop_columns(["voice_to_text"]), fewer)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 not really PAR1")
    for path in (unmarked, narrower, fewer, garbage, tmp_path / "missing.parquet", source):
        assert not folded_parquet(path), path.name


def test_a_run_on_duckdb_loads_neither_pyarrow_nor_numpy(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "observations.jsonl"
    path.write_bytes(_file(_line(), _line(view_count=7)))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from oyren.batch.entry import entered\n"
        "from oyren.batch.plan import duckdb_plan\n"
        f"with entered(Path({str(path)!r})) as parquet, duckdb_plan(parquet) as runner:\n"
        "    rows = runner('SELECT count(*) FROM observations')\n"
        "print(rows[0][0], 'pyarrow' in sys.modules, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False", "False"]


def test_connect_caps_threads_only_when_asked() -> None:
    from oyren.batch.entry import connect

    capped, default, plain = connect(threads=1), connect(), duckdb.connect()
    try:
        setting = "SELECT current_setting('threads')"
        assert capped.execute(setting).fetchall() == [(1,)]
        assert default.execute(setting).fetchall() == plain.execute(setting).fetchall()
    finally:
        for con in (capped, default, plain):
            con.close()
