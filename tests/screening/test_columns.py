"""Metadata as columns: the same observations, read field by field or whole."""

from oyren.rules.observations import Observation
from oyren.screening.columns import FIELDS, MetaColumns, as_columns

A = Observation("1", "aysel", 10, 20, 300, "AZ", "Plov #resept", ("resept",), 45, 12, 1, 0,
                "m1", "bu gün")  # fmt: skip
B = Observation("2", "Kamran", 11, 21, 0, None, "", (), None, None, None, None, None, None)


def test_as_columns_reads_back_the_same_observations():
    columns = as_columns([A, B])
    assert len(columns) == 2
    assert list(columns) == [A, B]
    assert columns[1] == B
    assert columns[:1] == [A]
    assert columns.like_count == [12, None]
    assert as_columns(columns) is columns


def test_put_replaces_one_observation():
    columns = as_columns([A, B])
    columns.put(0, B)
    assert list(columns) == [B, B]


def test_fields_are_the_observations_fields_in_order():
    assert FIELDS[0] == "video_id"
    assert len(FIELDS) == len(MetaColumns.__dataclass_fields__)
    assert as_columns([]) == MetaColumns(*([] for _ in FIELDS))
