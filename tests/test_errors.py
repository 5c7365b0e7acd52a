"""The exception tree: one base a shell can catch, and messages that say where the fault is."""

from __future__ import annotations

import pickle

import pytest

from oyren import errors
from oyren.errors import (
    ApiUnavailable,
    BundleError,
    CampaignError,
    ConnectorError,
    InputError,
    OyrenError,
    QuotaExhausted,
    SearchExpired,
    StoreError,
)


def test_every_error_a_user_can_cause_is_an_oyren_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), OyrenError), name
    for cls in (ApiUnavailable, QuotaExhausted, SearchExpired):
        assert issubclass(cls, ConnectorError)
    assert not issubclass(OyrenError, (ValueError, KeyError))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "not TOML"),
        ({"path": "c.toml"}, "c.toml: not TOML"),
        ({"key": "cutoff"}, "cutoff: not TOML"),
        ({"path": "c.toml", "key": "cutoff"}, "c.toml: cutoff: not TOML"),
    ],
)
def test_campaign_error_names_the_file_and_key_it_has(kwargs, message):
    error = CampaignError("not TOML", **kwargs)
    assert str(error) == message
    assert (error.path, error.key) == (kwargs.get("path"), kwargs.get("key"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "<input>: bad"),
        ({"path": "o.jsonl"}, "o.jsonl: bad"),
        ({"path": "o.jsonl", "line": 3}, "o.jsonl, line 3: bad"),
        ({"path": "o.jsonl", "line": 0, "field": "id"}, "o.jsonl, line 0, field 'id': bad"),
        ({"field": "view_count"}, "<input>, field 'view_count': bad"),
    ],
)
def test_input_error_names_file_line_and_field(kwargs, message):
    error = InputError("bad", **kwargs)
    assert str(error) == message
    assert error.reason == "bad"
    assert (error.path, error.line, error.field) == (
        kwargs.get("path"),
        kwargs.get("line"),
        kwargs.get("field"),
    )


def test_input_error_quotes_hostile_text_as_it_is():
    error = InputError("<script>\n", path="a\x00b", field="'; DROP")
    assert str(error) == "a\x00b, field ''; DROP': <script>\n"


def test_quota_exhausted_says_when_the_quota_comes_back():
    error = QuotaExhausted("daily quota spent", reset_at=1713744000)
    assert (str(error), error.reset_at) == ("daily quota spent", 1713744000)
    with pytest.raises(TypeError):
        QuotaExhausted("no reset time")  # type: ignore[call-arg]


def test_plain_errors_carry_their_message():
    for cls in (StoreError, ConnectorError, ApiUnavailable, SearchExpired, BundleError):
        with pytest.raises(OyrenError, match=r"^what to do$"):
            raise cls("what to do")


def test_errors_survive_pickling_between_processes():
    error = pickle.loads(pickle.dumps(InputError("bad", path="o.jsonl", line=2)))
    assert str(error) == "o.jsonl, line 2: bad"
