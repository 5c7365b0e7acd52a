import random
from collections import Counter
from itertools import combinations

from oyren.rules.observations import Observation
from oyren.screening.columns import as_columns
from oyren.screening.reuploads import (
    MAX_SHARED,
    MIN_DESCRIPTION_WORDS,
    MIN_SPEECH_WORDS,
    _candidates,
    _words,
    duplicate_flags,
)

T = 1_710_000_000
DAY = 86400


def meta(video_id, username="someone", *, posted=0, **kw):
    fields = {
        "description": f"Unique words for video {video_id} #TikTokdanOyren",
        "duration_s": 45,
        "music_id": f"sound-{video_id}",
        "voice_to_text": None,
    }
    fields.update(kw)
    return Observation(
        video_id=video_id,
        username=username,
        create_time=T + posted,
        collected_at=T + posted + DAY,
        view_count=1000,
        **fields,
    )


ORIGINAL = {
    "description": "Fotosintez necə işləyir? Yarpaqda nə baş verir #TikTokdanÖyrən #elm",
    "music_id": "sound-7",
    "duration_s": 52,
}


def test_duplicate_flags_later_copy_by_another_account_is_flagged():
    metas = [
        meta("1", "aysel", **ORIGINAL),
        meta("2", "copycat", posted=3 * DAY, **ORIGINAL),
        meta("3", "bystander", posted=DAY),
    ]
    flags = duplicate_flags(metas)
    assert list(flags) == [1]
    assert flags[1].code == "duplicate_upload"
    assert flags[1].explanation == (
        "same length (52 s), the same sound and the same description as video 1 by @aysel, "
        "posted 3 days earlier; a re-upload of the same content"
    )
    assert flags[1].score == 0.667


def test_duplicate_flags_folded_spelling_and_an_extra_word_still_match():
    shouted = "FOTOSİNTEZ NECƏ İŞLƏYİR? Yarpaqda nə baş verir #tiktokdanoyren #elm 🔥 repost"
    copy = dict(ORIGINAL, description=shouted)
    flags = duplicate_flags([meta("1", "aysel", **ORIGINAL), meta("2", "b", posted=DAY, **copy)])
    # Nine words in common out of ten: the emoji is no word, "repost" is the one added.
    assert "nearly the same description (90 % of words shared)" in flags[1].explanation


def test_duplicate_flags_same_account_reupload_is_said():
    metas = [meta("1", "aysel", **ORIGINAL), meta("2", "Aysel", posted=5 * 3600, **ORIGINAL)]
    assert "by the same account, posted 5 h earlier" in duplicate_flags(metas)[1].explanation


def test_duplicate_flags_speech_and_length_with_a_new_description_match():
    said = "bu gün fotosintez haqqında danışacağıq yarpaq günəş işığını şəkərə çevirir"
    metas = [
        meta("1", "a", voice_to_text=said, duration_s=60),
        meta("2", "b", posted=DAY, voice_to_text=said, duration_s=61, music_id="sound-1"),
    ]
    flags = duplicate_flags(metas)
    assert "same length (61 s), the same sound and the same speech as video 1" in (
        flags[1].explanation
    )


def test_duplicate_flags_different_length_is_not_a_duplicate():
    other = dict(ORIGINAL, duration_s=58)
    assert duplicate_flags([meta("1", "a", **ORIGINAL), meta("2", "b", posted=DAY, **other)]) == {}


def test_duplicate_flags_trending_sound_with_a_stock_caption_is_not_a_duplicate():
    # A sound and a caption that many videos use say nothing about where a video came from.
    stock = {"music_id": "trending", "duration_s": 30, "description": "Part 2 #fyp #TikTokdanOyren"}
    metas = [meta(str(i), f"user{i}", posted=i * 3600, **stock) for i in range(MAX_SHARED + 1)]
    assert duplicate_flags(metas) == {}


def test_duplicate_flags_rare_caption_with_a_trending_sound_is_a_duplicate():
    trend = {"music_id": "trending", "duration_s": 30}
    metas = [meta(str(i), f"user{i}", posted=i * 3600, **trend) for i in range(MAX_SHARED + 1)]
    metas.append(meta("99", "user99", posted=DAY, description=metas[0].description, **trend))
    flags = duplicate_flags(metas)
    assert list(flags) == [MAX_SHARED + 1]
    assert flags[MAX_SHARED + 1].explanation.startswith(
        f"same length (30 s), the same sound (common: {MAX_SHARED + 2} videos) and the same "
        "description as video 0 by @user0"
    )


def test_duplicate_flags_one_fingerprint_alone_is_not_enough():
    copy = dict(ORIGINAL, music_id="sound-new")
    assert duplicate_flags([meta("1", "a", **ORIGINAL), meta("2", "b", posted=DAY, **copy)]) == {}


def test_duplicate_flags_cites_the_earliest_of_several_copies():
    metas = [meta(str(i), f"user{i}", posted=(3 - i) * DAY, **ORIGINAL) for i in range(4)]
    flags = duplicate_flags(metas)
    assert sorted(flags) == [0, 1, 2]
    assert all("as video 3 by @user3" in f.explanation for f in flags.values())


def test_duplicate_flags_unknown_length_is_never_a_duplicate():
    unknown = dict(ORIGINAL, duration_s=None)
    metas = [meta("1", "a", **unknown), meta("2", "b", posted=DAY, **unknown)]
    assert duplicate_flags(metas) == {}


def _all_pairs_candidates(metas):
    """Every pair of videos of known length sharing a sound, description or speech key that two
    to MAX_SHARED such videos share, found by comparing all pairs (the blocking's oracle)."""
    keys = []
    for m in metas:
        found = set()
        if m.duration_s is not None:
            if m.music_id:
                found.add(("music", m.music_id))
            for kind, text, minimum in (("description", m.description, MIN_DESCRIPTION_WORDS),
                                        ("speech", m.voice_to_text, MIN_SPEECH_WORDS)):  # fmt: skip
                words, key = _words(text)
                if len(words) >= minimum:
                    found.add((kind, key))
        keys.append(found)
    counts = Counter(k for found in keys for k in found)
    pairs = {
        (i, j)
        for i, j in combinations(range(len(metas)), 2)
        if any(2 <= counts[k] <= MAX_SHARED for k in keys[i] & keys[j])
    }
    return pairs, dict(counts)


def test_blocking_finds_the_pairs_an_all_pairs_comparison_finds():
    rng = random.Random(7)
    sounds = [f"sound-{n}" for n in range(12)] + [None, ""]
    captions = ["Fotosintez necə işləyir? #elm", "FOTOSİNTEZ necə işləyir #elm", "Part 2 #fyp",
                "a a a", "", None, "Riyaziyyat dərsi: kəsrlər asan yolla"]  # fmt: skip
    speech = [None, "", "bu gün biz kəsrləri öyrənirik", "Bu gün biz KƏSRLƏRİ öyrənirik", "salam"]
    metas = [
        meta(str(n), description=rng.choice(captions) or "", music_id=rng.choice(sounds),
             voice_to_text=rng.choice(speech), duration_s=rng.choice([None, 30, 31, 45]))
        for n in range(40)
    ]  # fmt: skip
    # A sound shared by more than MAX_SHARED videos is no block.
    metas += [meta(str(100 + n), music_id="hit", description="") for n in range(MAX_SHARED + 1)]
    pairs, counts = _all_pairs_candidates(metas)
    shared, candidates = _candidates(as_columns(metas), {})
    assert candidates == pairs
    assert shared == counts
    assert pairs  # blocks of every kind were met, not nothing
    assert {kind for kind, _ in counts} == {"music", "description", "speech"}
