import pytest

from oyren.errors import InputError
from oyren.inputs.records import json_objects


def test_json_objects_yields_line_numbers_and_skips_blank_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n\n   \n{"b": [2]}\n')
    assert list(json_objects(path)) == [(1, {"a": 1}), (4, {"b": [2]})]


@pytest.mark.parametrize(
    "line, message", [(b"{oops", "not valid JSON"), (b"[1]", "expected a JSON object")]
)
def test_json_objects_bad_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"a": 1}\n' + line + b"\n")
    with pytest.raises(InputError) as excinfo:
        list(json_objects(path))
    assert (excinfo.value.path, excinfo.value.line) == (str(path), 2)
    assert message in str(excinfo.value)


def test_json_objects_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        list(json_objects(tmp_path / "none.jsonl"))
