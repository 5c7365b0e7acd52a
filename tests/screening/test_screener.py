"""The campaign's screener: the flags and topics the rules engine takes, from the campaign."""

from __future__ import annotations

import dataclasses

from oyren.rules.engine import Screener
from oyren.screening.flags import flag_videos
from oyren.screening.screener import CampaignScreener
from tests.screening.conftest import DAY, START, block, curve, video


def test_screener_flags_are_the_campaigns_flags(campaign, honest):
    bought = block(9 * DAY, 40_000)
    buyer = video("1", "buyer", START + DAY, lambda a: curve(30_000, 48, a) + bought(a))
    videos = [*honest, buyer]
    screener: Screener = CampaignScreener(campaign)
    flags = screener.flags(videos)
    assert flags == flag_videos(videos)
    assert [f.code for f in flags["1"]] == ["view_spike"]
    assert CampaignScreener(campaign).flags([]) == {}


def test_screener_topic_comes_from_the_campaigns_themes(campaign, make_obs):
    screener = CampaignScreener(campaign)
    theme_ids = {theme.id for theme in campaign.themes}
    cooking = make_obs(video_description="Plov resepti: düyü, ət, zəfəran #TikTokdanÖyrən #yemək")
    topic, confidence = screener.topic(cooking)
    assert topic in theme_ids
    assert confidence is not None and 0.0 <= confidence <= 1.0


def test_screener_without_themes_gives_no_topic(campaign, make_obs):
    bare = CampaignScreener(dataclasses.replace(campaign, themes=()))
    assert bare.topic(make_obs()) == (None, None)
