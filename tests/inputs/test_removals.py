"""Reading removal files: valid lines, and errors that name the line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from oyren.errors import InputError
from oyren.inputs.removals import Removal, read_removals, removal_to_record, removed_ids


def test_read_removals_reads_times_and_ids(write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl(
        [
            {
                "video_id": "7340000000000000001",
                "reason": " deleted ",
                "at": "2024-04-25T10:00:00+04:00",
                "by": "aysel",
            },
            "",
            {"video_id": 7340000000000000002, "reason": "private", "at": 1714000000},
        ]
    )
    assert read_removals(path) == [
        Removal("7340000000000000001", "deleted", 1714024800, "aysel"),
        Removal("7340000000000000002", "private", 1714000000, "unknown"),
    ]


def test_removal_to_record_reads_back(tmp_path: Path) -> None:
    removal = Removal("1", "deleted by the creator", 1714024800, "aysel")
    path = tmp_path / "removed.jsonl"
    path.write_bytes(orjson.dumps(removal_to_record(removal)) + b"\n")
    assert read_removals(path) == [removal]
    assert removed_ids([removal, removal]) == frozenset({"1"})


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('{"reason": "x", "at": 1714000000}', "video_id", "non-empty string"),
        ('{"video_id": "1", "at": 1714000000}', "reason", "non-empty string"),
        ('{"video_id": "1", "reason": "\\u0000 "}', "reason", "non-empty string"),
        ('{"video_id": "1", "reason": "x"}', "at", "required"),
        ('{"video_id": "1", "reason": "x", "at": "2024-04-25 10:00"}', "at", "UTC offset"),
        ('{"video_id": "1", "reason": "x", "at": "yesterday"}', "at", "ISO 8601"),
        ('{"video_id": true, "reason": "x", "at": 1}', "video_id", "non-empty string"),
        ('["1"]', None, "JSON object"),
        ('{"video_id": "1",', None, "not valid JSON"),
    ],
)
def test_read_removals_bad_line_names_line_and_field(
    write_jsonl: Callable[..., Path], line: str, field: str | None, message: str
) -> None:
    path = write_jsonl(['{"video_id": "0", "reason": "ok", "at": 1714000000}', line])
    with pytest.raises(InputError, match=message) as info:
        read_removals(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 2, field)


def test_read_removals_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        read_removals(tmp_path / "absent.jsonl")
