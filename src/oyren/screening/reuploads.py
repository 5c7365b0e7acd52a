"""Re-uploads: the same content posted again, by the same account or another. No I/O.

A re-upload is the same file posted again, so it has the same length (to the second, one second
either way for re-encoding) and carries fingerprints of the original: its sound (``music_id``),
its description, its speech (``voice_to_text``). A pair of videos is a duplicate when the lengths
agree and at least two of those three fingerprints match, one of them *distinctive* in the
campaign — shared by at most :data:`MAX_SHARED` videos. A trending sound and a stock phrase
("Part 2 #fyp") together say nothing about where a video came from; a rare sound or caption does.
Texts are compared after folding (case, Azerbaijani letters) as sets of words (Jaccard similarity).

Pairs are found by blocking, not by comparing all pairs: only videos sharing an exact
distinctive sound, description or speech text are compared, so the work grows with the number of
videos (a pair whose only distinctive match is a text edited a little is missed). The later
upload of a pair is flagged, citing the earliest video it duplicates.
The score is the share of the three fingerprints that matched (2/3 or 1).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

from oyren.rules.hashtags import fold
from oyren.rules.observations import Observation
from oyren.rules.results import Flag, id_sort_key
from oyren.screening.columns import MetaColumns, as_columns
from oyren.screening.wording import duration

__all__ = ["MAX_SHARED", "duplicate_flags"]

MAX_SHARED = 10  # a fingerprint shared by more videos than this is common, not evidence
MAX_LENGTH_GAP_S = 1  # re-encoding may change the reported length by a second
MIN_SIMILARITY = 0.8  # share of words two texts must have in common
MIN_DESCRIPTION_WORDS = 3
MIN_SPEECH_WORDS = 4

_WORD = re.compile(r"\w+")


class _Print(NamedTuple):
    """A video's fingerprints: folded word sets and exact keys for blocking."""

    description: frozenset[str]
    description_key: str
    speech: frozenset[str]
    speech_key: str
    music: str


def _words(text: str | None) -> tuple[frozenset[str], str]:
    if not text:
        return frozenset(), ""
    # Fold word by word: words repeat across a campaign, so the cache in ``fold`` does the work.
    words = [fold(w) for w in _WORD.findall(text)]
    return frozenset(words), " ".join(words)


def _prints(metas: MetaColumns) -> list[_Print]:
    # Captions and transcripts repeat across a campaign: each distinct text is split once.
    texts: dict[str | None, tuple[frozenset[str], str]] = {}
    out = []
    for description, speech, music in zip(
        metas.description, metas.voice_to_text, metas.music_id, strict=True
    ):
        said = texts.get(description)
        if said is None:
            said = texts[description] = _words(description)
        spoken = texts.get(speech)
        if spoken is None:
            spoken = texts[speech] = _words(speech)
        out.append(_Print(*said, *spoken, music or ""))
    return out


def _similar(a: frozenset[str], b: frozenset[str], minimum: int) -> float:
    if len(a) < minimum or len(b) < minimum:
        return 0.0
    return len(a & b) / len(a | b)


def duplicate_flags(metas: Sequence[Observation]) -> dict[int, Flag]:
    """Flag later uploads of content already in the campaign; keys index into ``metas``."""
    columns = as_columns(metas)
    prints = _prints(columns)
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (p, length) in enumerate(zip(prints, columns.duration_s, strict=True)):
        if length is None:
            continue
        if p.music:
            blocks[("music", p.music)].append(i)
        if len(p.description) >= MIN_DESCRIPTION_WORDS:
            blocks[("description", p.description_key)].append(i)
        if len(p.speech) >= MIN_SPEECH_WORDS:
            blocks[("speech", p.speech_key)].append(i)
    shared = {key: len(members) for key, members in blocks.items()}
    candidates: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 2 <= len(members) <= MAX_SHARED:
            candidates.update(combinations(members, 2))

    def used_by(kind: str, *keys: str) -> int:
        return min(shared.get((kind, key), 0) for key in keys)

    # Per later upload: (rank, original, what matched); most fingerprints, then earliest original.
    best: dict[int, tuple[tuple[int, int, tuple[int, int, str]], int, list[tuple[str, int, int]]]]
    best = {}
    lengths = columns.duration_s
    for i, j in candidates:
        length_a, length_b = lengths[i], lengths[j]
        assert length_a is not None and length_b is not None
        if abs(length_a - length_b) > MAX_LENGTH_GAP_S:
            continue
        pa, pb = prints[i], prints[j]
        # (words, how many videos share the fingerprint) for each fingerprint that matches.
        # (what, share of words in common, how many videos share the fingerprint) per match.
        found: list[tuple[str, int, int]] = []
        if pa.music and pa.music == pb.music:
            found.append(("sound", 100, used_by("music", pa.music)))
        description = _similar(pa.description, pb.description, MIN_DESCRIPTION_WORDS)
        if description >= MIN_SIMILARITY:
            uses = used_by("description", pa.description_key, pb.description_key)
            found.append(("description", round(100 * description), uses))
        speech = _similar(pa.speech, pb.speech, MIN_SPEECH_WORDS)
        if speech >= MIN_SIMILARITY:
            uses = used_by("speech", pa.speech_key, pb.speech_key)
            found.append(("speech", round(100 * speech), uses))
        # Two fingerprints, one of them distinctive: a trending sound with a stock caption is not
        # evidence, but either of them next to a rare one is.
        if len(found) < 2 or min(uses for _, _, uses in found) > MAX_SHARED:
            continue
        matched = [(what, share, uses if uses > MAX_SHARED else 0) for what, share, uses in found]
        a, b = metas[i], metas[j]
        original, later = (i, j) if _posted(a) <= _posted(b) else (j, i)
        rank = (-len(matched), *_posted(metas[original]))
        if later not in best or rank < best[later][0]:
            best[later] = (rank, original, matched)
    out = {}
    for later, (_, original, matched) in best.items():
        a, b = metas[original], metas[later]
        same = a.username.casefold() == b.username.casefold()
        who = "the same account" if same else f"@{a.username}"
        gap = b.create_time - a.create_time
        assert b.duration_s is not None
        words = [_match_words(*m) for m in matched]
        text = (
            f"same length ({b.duration_s} s), {_join(words)} as video {a.video_id} by {who}, "
            f"posted {duration(gap)} earlier; a re-upload of the same content"
        )
        evidence = (
            ("duration_s", b.duration_s),
            ("matched", tuple(matched)),
            ("original", a.video_id),
            ("original_username", "" if same else a.username),
            ("gap_s", gap),
        )
        out[later] = Flag("duplicate_upload", round(len(matched) / 3, 3), text, evidence)
    return out


def _posted(obs: Observation) -> tuple[int, tuple[int, int, str]]:
    return (obs.create_time, id_sort_key(obs.video_id))


def _match_words(what: str, share: int, common: int) -> str:
    words = (
        f"the same {what}"
        if share >= 100
        else f"nearly the same {what} ({share} % of words shared)"
    )
    return f"{words} (common: {common} videos)" if common else words


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
