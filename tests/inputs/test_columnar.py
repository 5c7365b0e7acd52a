"""Observations in Parquet: round trips, folding at entry, and malformed or hostile files."""

from __future__ import annotations

from dataclasses import astuple, replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oyren.errors import InputError
from oyren.inputs.columnar import (
    FOLDED_MARK,
    SCHEMA,
    ParquetSink,
    folded_tags,
    read_parquet_observations,
    stream_observations,
    to_parquet,
    write_observations_parquet,
)
from oyren.inputs.observations import SkipReport, observation_from_record, read_observations


def test_observations_survive_a_round_trip_through_parquet(tmp_path, make_record):
    records = [
        make_record(id=1, hashtag_names=["TİKTOKDANÖYRƏN", "elm"], music_id="42"),
        make_record(
            id=2,
            username="Ayşə",
            region_code=None,
            video_duration=None,
            voice_to_text="salam",
            hashtag_names=[],
        ),
    ]
    observations = [observation_from_record(r) for r in records]
    path = tmp_path / "o.parquet"
    assert write_observations_parquet(observations, path) == 2
    assert list(read_parquet_observations(path)) == observations


def test_folded_columns_are_written_when_the_observation_enters(tmp_path, make_record):
    path = tmp_path / "o.parquet"
    obs = observation_from_record(
        make_record(username="AYSEL_Teaches", hashtag_names=["TİKTOKDANÖYRƏN", "tiktokdanoyren"])
    )
    write_observations_parquet([obs], path)
    table = pq.read_table(path)
    assert table.column("hashtags_folded").to_pylist() == [["tiktokdanoyren"]]
    assert table.column("username_folded").to_pylist() == ["aysel_teaches"]
    assert FOLDED_MARK in table.schema.metadata


def test_folded_tags_keep_first_appearance_once_each():
    assert folded_tags(["Elm", "ELM", "ＴｉｋＴｏｋ"]) == ["elm", "tiktok"]


def test_to_parquet_reads_jsonl_csv_and_parquet_alike(tmp_path, write_jsonl, make_record):
    records = [make_record(id=i, view_count=i * 10) for i in range(1, 6)]
    jsonl = write_jsonl(records)
    expected = list(read_observations(jsonl))
    out = tmp_path / "from-jsonl.parquet"
    assert to_parquet(jsonl, out) == 5
    assert list(read_parquet_observations(out)) == expected
    again = tmp_path / "from-parquet.parquet"
    assert to_parquet(out, again) == 5
    assert list(read_parquet_observations(again)) == expected


def test_to_parquet_names_the_bad_line_or_skips_it(tmp_path, write_jsonl, make_record):
    path = write_jsonl([make_record(), "{not json", make_record(view_count="many")])
    with pytest.raises(InputError, match="line 2"):
        to_parquet(path, tmp_path / "o.parquet")
    skip = SkipReport()
    assert to_parquet(path, tmp_path / "o.parquet", skip=skip) == 1
    assert skip.count == 2
    assert "line 3" in str(skip.errors[1]) and "view_count" in str(skip.errors[1])


def test_a_file_that_is_not_parquet_is_refused(tmp_path):
    path = tmp_path / "o.parquet"
    path.write_bytes(b'{"id": 1}\n')
    with pytest.raises(InputError, match="not a Parquet file"):
        list(read_parquet_observations(path))


def test_a_truncated_parquet_file_is_refused(tmp_path, make_record):
    path = tmp_path / "o.parquet"
    write_observations_parquet([observation_from_record(make_record())], path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="Parquet"):
        list(read_parquet_observations(path))


def test_a_missing_parquet_file_is_named(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        list(read_parquet_observations(tmp_path / "absent.parquet"))


def test_a_parquet_file_without_a_required_column_is_refused(tmp_path):
    path = tmp_path / "o.parquet"
    pq.write_table(pa.table({"id": ["1"], "username": ["a"]}), path)
    with pytest.raises(InputError, match="create_time"):
        list(read_parquet_observations(path))


def test_hostile_values_in_parquet_name_the_row_and_field(tmp_path, make_record):
    good = make_record()
    rows = [
        dict(good, id=str(good["id"])),
        dict(good, id="12abc"),  # not a TikTok id
    ]
    path = tmp_path / "o.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    with pytest.raises(InputError, match=r"line 2.*'id'"):
        list(read_parquet_observations(path))
    huge = tmp_path / "huge.parquet"
    pq.write_table(pa.Table.from_pylist([dict(good, view_count=10**18)]), huge)
    with pytest.raises(InputError, match="view_count"):
        list(read_parquet_observations(huge))
    typed = tmp_path / "typed.parquet"
    pq.write_table(pa.Table.from_pylist([dict(good, create_time="yesterday")]), typed)
    with pytest.raises(InputError, match="create_time"):
        list(read_parquet_observations(typed))
    nul = tmp_path / "nul.parquet"
    pq.write_table(pa.Table.from_pylist([dict(good, video_description="a\x00b")]), nul)
    with pytest.raises(InputError, match="NUL"):
        list(read_parquet_observations(nul))


def test_a_sink_writes_observations_and_their_fields_alike_across_chunks(tmp_path, make_record):
    base = observation_from_record(make_record())
    observations = [
        base,
        replace(base, collected_at=base.collected_at + 1, hashtags=("a", "B"), music_id=None),
        replace(base, hashtags=(), region_code=None, duration_s=None, username="ÇİçEk"),
        replace(base, hashtags=("a", "B"), voice_to_text="söz", like_count=None),
        replace(base, video_id="7", hashtags=("İ",)),
    ]
    sink = ParquetSink(tmp_path / "obs.parquet", chunk_rows=2)
    for i, obs in enumerate(observations):
        if i % 2:
            sink.add(obs)
        else:
            sink.add_fields(astuple(obs))
    sink.close()
    assert sink.count == len(observations)
    assert pq.ParquetFile(tmp_path / "obs.parquet").metadata.num_row_groups == 3  # 2, 2 and 1
    assert list(read_parquet_observations(tmp_path / "obs.parquet")) == observations
    table = pq.read_table(tmp_path / "obs.parquet")
    assert table.column("hashtags_folded").to_pylist() == [
        folded_tags(obs.hashtags) for obs in observations
    ]
    assert table.column("username_folded").to_pylist() == [
        obs.username.casefold() for obs in observations
    ]


def test_a_sink_writes_tables_built_elsewhere_in_its_schema(tmp_path, make_record):
    obs = observation_from_record(make_record())
    first = tmp_path / "a.parquet"
    write_observations_parquet([obs], first)
    sink = ParquetSink(tmp_path / "b.parquet")
    sink.write_table(pq.read_table(first).cast(SCHEMA))
    sink.add(obs)
    sink.close()
    assert sink.count == 2
    assert list(read_parquet_observations(tmp_path / "b.parquet")) == [obs, obs]


def test_stream_observations_reads_a_file_as_read_observations_does(tmp_path, write_jsonl,
                                                                    make_record):  # fmt: skip
    # The fast lane for JSONL: the same observations, and the same errors naming line and field.
    lines = [
        make_record(id=1, view_count=10),
        make_record(id="2", hashtag_names=["#Elm", "öyrən"], collected_at="2024-05-01T10:00:00Z"),
        "",
        '{"id": 3, "id": 4}',
        make_record(id=5, view_count="many"),
        "{not json",
        make_record(id=6, region_code="az", music_id=77, voice_to_text="salam"),
    ]
    path = write_jsonl(lines)
    skip_fast, skip_slow = SkipReport(), SkipReport()
    fast = list(stream_observations(path, skip=skip_fast))
    assert fast == list(read_observations(path, skip=skip_slow))
    assert [o.video_id for o in fast] == ["1", "2", "6"]
    assert [str(e) for e in skip_fast.errors] == [str(e) for e in skip_slow.errors]
    assert skip_fast.count == 3
    with pytest.raises(InputError, match="line 4") as error:
        list(stream_observations(path))
    with pytest.raises(InputError) as expected:
        list(read_observations(path))
    assert str(error.value) == str(expected.value)
    csv = tmp_path / "o.csv"
    csv.write_text("id,username,create_time,view_count,collected_at\n7,a,1714000000,5,1714000100\n")
    assert list(stream_observations(csv)) == list(read_observations(csv))
