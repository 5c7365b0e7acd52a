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
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
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


def _blocks(
    values: Iterable[str | None], lengths: Sequence[int | None], key_of: dict[str | None, str]
) -> tuple[Counter[str], dict[str, list[int]]]:
    """How many videos of known length share each key, and the members of the keys shared by
    two to :data:`MAX_SHARED` videos (the blocks worth comparing within).

    ``key_of`` gives each value's key ('' for none): a value repeated across the campaign is
    keyed once, and the keys are counted without a tuple made per video.
    """
    keys = [
        "" if length is None else key_of[value]
        for value, length in zip(values, lengths, strict=True)
    ]
    shared = Counter(keys)
    del shared[""]
    small = {key for key, count in shared.items() if 2 <= count <= MAX_SHARED}
    members: dict[str, list[int]] = defaultdict(list)
    if small:
        for i, key in enumerate(keys):
            if key in small:
                members[key].append(i)
    return shared, members


class _Keys(dict[str | None, str]):
    """Each text's blocking key: its folded words when there are enough of them, else ''."""

    def __init__(self, texts: dict[str | None, tuple[frozenset[str], str]], minimum: int) -> None:
        super().__init__()
        self.texts = texts
        self.minimum = minimum

    def __missing__(self, text: str | None) -> str:
        said = self.texts.get(text)
        if said is None:
            said = self.texts[text] = _words(text)
        key = self[text] = said[1] if len(said[0]) >= self.minimum else ""
        return key


class _Sounds(dict[str | None, str]):
    """Each sound's blocking key: its id ('' for none)."""

    def __missing__(self, music: str | None) -> str:
        key = self[music] = music or ""
        return key


def _similar(a: frozenset[str], b: frozenset[str], minimum: int) -> float:
    if len(a) < minimum or len(b) < minimum:
        return 0.0
    return len(a & b) / len(a | b)


def _candidates(
    columns: MetaColumns, texts: dict[str | None, tuple[frozenset[str], str]]
) -> tuple[dict[tuple[str, str], int], set[tuple[int, int]]]:
    """How many videos share each fingerprint key, and the pairs (i < j) worth comparing: those
    sharing a sound, description or speech key that two to :data:`MAX_SHARED` videos share."""
    lengths = columns.duration_s
    by_kind = {
        "music": _blocks(columns.music_id, lengths, _Sounds()),
        "description": _blocks(columns.description, lengths, _Keys(texts, MIN_DESCRIPTION_WORDS)),
        "speech": _blocks(columns.voice_to_text, lengths, _Keys(texts, MIN_SPEECH_WORDS)),
    }
    shared = {(kind, key): count for kind, (counts, _) in by_kind.items()
              for key, count in counts.items()}  # fmt: skip
    candidates: set[tuple[int, int]] = set()
    for _, members_by_key in by_kind.values():
        for members in members_by_key.values():
            candidates.update(combinations(members, 2))
    return shared, candidates


def duplicate_flags(metas: Sequence[Observation]) -> dict[int, Flag]:
    """Flag later uploads of content already in the campaign; keys index into ``metas``."""
    columns = as_columns(metas)
    lengths = columns.duration_s
    # Captions and transcripts repeat across a campaign: each distinct text is split once.
    texts: dict[str | None, tuple[frozenset[str], str]] = {}
    shared, candidates = _candidates(columns, texts)
    prints: dict[int, _Print] = {}

    def print_of(i: int) -> _Print:
        found = prints.get(i)
        if found is None:
            description, speech = columns.description[i], columns.voice_to_text[i]
            said = texts.get(description) or texts.setdefault(description, _words(description))
            spoken = texts.get(speech) or texts.setdefault(speech, _words(speech))
            found = prints[i] = _Print(*said, *spoken, columns.music_id[i] or "")
        return found

    def used_by(kind: str, *keys: str) -> int:
        return min(shared.get((kind, key), 0) for key in keys)

    # Per later upload: (rank, original, what matched); most fingerprints, then earliest original.
    best: dict[int, tuple[tuple[int, int, tuple[int, int, str]], int, list[tuple[str, int, int]]]]
    best = {}
    for i, j in candidates:
        length_a, length_b = lengths[i], lengths[j]
        assert length_a is not None and length_b is not None
        if abs(length_a - length_b) > MAX_LENGTH_GAP_S:
            continue
        pa, pb = print_of(i), print_of(j)
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
