import csv

import pytest

from oyren.errors import InputError
from oyren.inputs.observations import (
    SkipReport,
    observation_from_record,
    observation_to_record,
    read_observations,
    write_observations_csv,
)


def test_read_observations_jsonl_gives_typed_observations(write_jsonl, make_record):
    path = write_jsonl([make_record(), make_record(view_count=2000, collected_at=1713729599)])
    observations = list(read_observations(path))
    assert [o.view_count for o in observations] == [1000, 2000]
    first = observations[0]
    assert first.video_id == "7340000000000000001"
    assert first.hashtags == ("TikTokdanÖyrən", "elm")  # extracted from the description
    assert (first.region_code, first.duration_s, first.like_count) == ("AZ", 45, 100)


def test_read_observations_csv_matches_jsonl(tmp_path, write_jsonl, make_record):
    records = [make_record(), make_record(id="7340000000000000002", hashtag_names=["a", "b"])]
    jsonl = list(read_observations(write_jsonl(records)))
    path = tmp_path / "obs.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_observations_csv(jsonl, handle)
    assert list(read_observations(path)) == jsonl


def test_read_observations_csv_accepts_plain_hashtag_list(tmp_path, make_record):
    path = tmp_path / "obs.csv"
    rec = make_record(hashtag_names="TikTokdanOyren, elm")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rec))
        writer.writeheader()
        writer.writerow(rec)
    assert next(read_observations(path)).hashtags == ("TikTokdanOyren", "elm")


def test_observation_hashtag_names_given_are_used_as_is(make_record):
    obs = observation_from_record(make_record(hashtag_names=["#Viral", "öyrən"]))
    assert obs.hashtags == ("Viral", "öyrən")


def test_observation_nul_characters_are_stripped_from_usernames_only(make_record):
    # The API has sent usernames with NUL characters; anywhere else one is refused.
    obs = observation_from_record(make_record(username="ay\x00sel"))
    assert obs.username == "aysel"
    for field, value in [("video_description", "a\x00b #x"), ("hashtag_names", ["t\x00ag"]),
                         ("region_code", "A\x00"), ("voice_to_text", "a\x00")]:  # fmt: skip
        with pytest.raises(InputError, match=f"field '{field}'"):
            observation_from_record(make_record(**{field: value}))


def test_observation_video_id_key_and_string_ids_accepted(make_record):
    rec = make_record(id=None, video_id="7340000000000000009")
    assert observation_from_record(rec).video_id == "7340000000000000009"


def test_observation_collected_at_iso_with_offset_equals_unix(make_record):
    iso = observation_from_record(make_record(collected_at="2024-04-21T23:59:59+04:00"))
    utc = observation_from_record(make_record(collected_at="2024-04-21T19:59:59Z"))
    unix = observation_from_record(make_record(collected_at=1713729599))
    assert iso.collected_at == utc.collected_at == unix.collected_at == 1713729599


def test_observation_round_trips_through_record(make_obs):
    obs = make_obs(music_id=123, voice_to_text="salam")
    assert observation_from_record(observation_to_record(obs)) == obs


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"id": None}, "id", "required field is missing"),
        ({"id": True}, "id", "integer or a string"),
        ({"id": "has space"}, "id", "1 to 20 digits, not 'has space'"),
        ({"id": "x" * 65}, "id", "1 to 20 digits"),
        ({"id": -5}, "id", "a whole number from 0 to 2^64-1"),
        ({"username": None}, "username", "required"),
        ({"username": 42}, "username", "must be a string"),
        ({"username": "  "}, "username", "must not be empty"),
        ({"create_time": None}, "create_time", "required"),
        ({"create_time": "1708500000"}, "create_time", "whole number"),
        ({"create_time": 1708500000.5}, "create_time", "whole number"),
        ({"create_time": 1708500000000}, "create_time", "not a plausible time"),
        ({"create_time": -1}, "create_time", "not a plausible time"),
        ({"view_count": -3}, "view_count", "negative"),
        ({"view_count": "many"}, "view_count", "whole number"),
        ({"view_count": 10**16}, "view_count", "impossibly large"),
        ({"view_count": None}, "view_count", "required"),
        ({"like_count": [1]}, "like_count", "whole number"),
        ({"video_duration": False}, "video_duration", "whole number"),
        ({"region_code": 7}, "region_code", "must be a string"),
        ({"hashtag_names": "tag"}, "hashtag_names", "list of strings"),
        ({"hashtag_names": [1, 2]}, "hashtag_names", "list of strings"),
        ({"collected_at": None}, "collected_at", "required"),
        ({"collected_at": "yesterday"}, "collected_at", "not ISO 8601"),
        ({"collected_at": "2024-04-21T10:00:00"}, "collected_at", "no UTC offset"),
        ({"collected_at": 1000}, "collected_at", "not a plausible time"),
        ({"collected_at": 1700000000}, "collected_at", "before create_time"),
    ],
)
def test_observation_bad_field_is_named(make_record, overrides, field, message):
    with pytest.raises(InputError) as excinfo:
        observation_from_record(make_record(**overrides), path="obs.jsonl", line=7)
    assert excinfo.value.field == field
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith(f"obs.jsonl, line 7, field '{field}': ")


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        ("null", "expected a JSON object"),
    ],
)
def test_read_observations_bad_line_names_file_and_line(write_jsonl, make_record, raw, message):
    path = write_jsonl([make_record(), "", raw])
    with pytest.raises(InputError) as excinfo:
        list(read_observations(path))
    assert excinfo.value.line == 3
    assert message in str(excinfo.value)
    assert str(path) in str(excinfo.value)


def test_read_observations_skip_invalid_counts_and_keeps_good_lines(write_jsonl, make_record):
    path = write_jsonl([make_record(), "garbage", make_record(view_count=-1), make_record(id=2)])
    skip = SkipReport()
    observations = list(read_observations(path, skip=skip))
    assert [o.video_id for o in observations] == ["7340000000000000001", "2"]
    assert skip.count == 2
    assert [(e.line, e.field) for e in skip.errors] == [(2, None), (3, "view_count")]


def test_read_observations_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        list(read_observations(tmp_path / "absent.jsonl"))


def test_read_observations_csv_missing_column_names_it(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("id,username,create_time,collected_at\n1,a,1708500000,1708500100\n")
    with pytest.raises(InputError) as excinfo:
        list(read_observations(path))
    assert (excinfo.value.line, excinfo.value.field) == (1, "view_count")


def test_read_observations_csv_extra_values_and_bad_numbers(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text(
        "id,username,create_time,view_count,collected_at\n"
        "1,a,1708500000,10,1708500100,extra\n"
        "2,b,1708500000,ten,1708500100\n"
    )
    skip = SkipReport()
    assert list(read_observations(path, skip=skip)) == []
    assert [(e.line, e.field) for e in skip.errors] == [(2, None), (3, "view_count")]


def test_read_observations_csv_not_utf8_is_rejected(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_bytes(b"id,username,create_time,view_count,collected_at\n1,\xff\xfe,1,2,3\n")
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_observations(path))


def test_read_observations_hostile_strings_are_kept_as_text(write_jsonl, make_record):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    path = write_jsonl([make_record(video_description=payload + " #TikTokdanOyren")])
    obs = next(read_observations(path))
    assert obs.description.startswith(payload)
    assert obs.hashtags == ("TikTokdanOyren",)
