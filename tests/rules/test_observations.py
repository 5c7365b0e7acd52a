"""An observation: one sighting of a video, and its record in API field names."""

import pytest

from oyren.inputs.observations import observation_from_record
from oyren.rules.observations import Observation, observation_to_record


def test_observation_is_frozen(make_obs):
    obs: Observation = make_obs()
    with pytest.raises(AttributeError):
        obs.view_count = 5  # type: ignore[misc]


def test_observation_to_record_round_trips_and_leaves_out_unknowns(make_obs):
    full: Observation = make_obs(music_id="m1", voice_to_text="Salam <b>", like_count=None)
    record = observation_to_record(full)
    assert "like_count" not in record
    assert (record["id"], record["video_description"]) == (full.video_id, full.description)
    assert (record["music_id"], record["voice_to_text"]) == ("m1", "Salam <b>")
    assert observation_from_record(record) == full
    bare = Observation("7", "u", create_time=1, collected_at=2, view_count=0)
    assert observation_to_record(bare) == {
        "id": "7",
        "username": "u",
        "create_time": 1,
        "video_description": "",
        "hashtag_names": [],
        "view_count": 0,
        "collected_at": 2,
    }
