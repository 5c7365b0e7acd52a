import pytest

from oyren.errors import InputError
from oyren.inputs.decisions import read_decisions
from oyren.rules.decisions import Decision


def test_read_decisions_reads_both_actions(write_jsonl):
    path = write_jsonl(
        [
            {
                "video_id": "1",
                "action": "exclude",
                "reason": "bought views",
                "by": "aysel",
                "at": "2024-04-25T10:00:00+04:00",
            },
            {"video_id": 2, "action": "include", "at": 1714000000},
        ],
        name="decisions.jsonl",
    )
    assert read_decisions(path) == [
        Decision("1", "exclude", "bought views", "aysel", 1714024800),
        Decision("2", "include", "", "unknown", 1714000000),
    ]


@pytest.mark.parametrize(
    "line, field",
    [
        ('{"video_id": "1", "action": "ban", "at": 1}', "action"),
        ('{"video_id": "1", "action": "exclude", "at": 1}', "reason"),
        ('{"action": "include", "at": 1}', "video_id"),
        ('{"video_id": "1", "action": "include"}', "at"),
        ('{"video_id": "1", "action": "include", "at": "tomorrow"}', "at"),
        ('{"video_id": "1", "action": "include", "at": "2024-04-25T10:00:00"}', "at"),
        ('{"video_id": ["1"], "action": "include", "at": 1}', "video_id"),
        ("not json", None),
        ("[]", None),
    ],
)
def test_read_decisions_bad_line_names_line_and_field(write_jsonl, line, field):
    path = write_jsonl(
        [{"video_id": "9", "action": "include", "at": 1714000000}, line], name="d.jsonl"
    )
    with pytest.raises(InputError) as excinfo:
        read_decisions(path)
    assert (excinfo.value.line, excinfo.value.field) == (2, field)


def test_read_decisions_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        read_decisions(tmp_path / "none.jsonl")
