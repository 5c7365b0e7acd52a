"""Themes: which of the campaign's themes a video teaches, or whether it teaches at all.

A :class:`Classifier` is built once from the campaign's themes and the lexicon shipped in
``oyren/data/themes_lexicon.json`` (words for the seven standard themes in Azerbaijani, English
and Russian, plus cues of teaching and of entertainment or engagement bait). Campaign ``keywords``
and theme names extend it, so a theme the lexicon does not know still has words.

Text is matched word by word after folding (case, the Azerbaijani letters, Russian ё), so
``Reseptlər``, ``reseptler`` and ``RESEPTLƏRİ`` all meet the stem ``resept*``; suffix-rich
Azerbaijani and Russian are handled by such prefix stems rather than a stemmer. Hashtags are
also split at case changes (``#LifeHack`` → life, hack) and searched for lexicon words run
together (``#kimyadersi`` → kimya, ders).

Each distinct lexicon pattern that matches adds its weight once to its label: strong words 1,
weak words 0.4, divided among the labels that share the word. Repeating a word proves nothing,
so counts are not used. A guess is *educational* when theme and teaching evidence outweigh
entertainment cues. Its confidence is the top theme's share of all evidence with one extra unit
of doubt in the denominator (``EVIDENCE_PRIOR``): one strong word gives 0.5, two give 0.67, and
words for two themes cancel out. Everything here is plain arithmetic over the matched words,
listed in :attr:`ThemeGuess.evidence`, so a moderator can see why a video got its theme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import chain, islice
from typing import Any

from oyren.rules.campaign import Campaign, Theme
from oyren.rules.hashtags import extract_hashtags, fold
from oyren.rules.observations import Observation
from oyren.screening.columns import as_columns

__all__ = [
    "LOW_CONFIDENCE",
    "NOT_EDUCATIONAL",
    "TEACHING",
    "Classifier",
    "Cue",
    "Evidence",
    "Lexicon",
    "ThemeGuess",
    "ThemeShare",
    "load_lexicon",
    "needs_review",
    "parse_lexicon",
    "split_hashtag",
    "theme_mix",
    "words",
]

NOT_EDUCATIONAL = "not_educational"
TEACHING = "teaching"  # cues of teaching that name no theme ("how to", "öyrənək", "объясняю")

# Below this confidence a guess goes to the moderation queue. One strong word for a theme and
# nothing against it gives exactly 0.5, so a lone weak word, or words for two themes, are queued.
LOW_CONFIDENCE = 0.5

STRONG = 1.0
WEAK = 0.4
# Pseudo-evidence for "none of the above" in the confidence denominator: thin evidence stays
# unsure however one-sided it is.
EVIDENCE_PRIOR = 1.0

# Bounds that keep hostile input cheap. TikTok captions stop at a few thousand characters;
# a transcript of a ten-minute video is about 10,000.
MAX_PART_CHARS = 20_000
MAX_WORD_CHARS = 64
MAX_HASHTAG_CHARS = 100
MAX_HASHTAGS = 100
MIN_STEM = 3  # shortest prefix stem: shorter ones match too many unrelated words
MIN_INNER_WORD = 4  # shortest lexicon word looked for inside a run-together hashtag
# Entries a classifier remembers per kind (words, hashtags, whole texts): a campaign's videos
# repeat a few thousand words and tags, so most are looked up, not worked out again. A full
# memory is emptied, which bounds it on hostile input.
MEMORY = 50_000

_TIERS = {"strong": STRONG, "weak": WEAK}
_LANGS = ("az", "en", "ru")
# Letters and digits with any combining marks, without '_' (so #study_tips is two words).
_WORD_RE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# Words of theme names that carry no topic.
_NAME_STOPWORDS = frozenset({"ve", "and", "the", "of", "for", "ile", "и", "для"})


@dataclass(frozen=True, slots=True)
class Cue:
    """One lexicon pattern for one label: its words (each exact or a prefix) and weight."""

    label: str
    pattern: str
    words: tuple[tuple[str, bool], ...]
    weight: float


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The shipped word lists: cues per label, and hashtags that say nothing about a video."""

    cues: tuple[Cue, ...]
    ignore: frozenset[str]

    @property
    def labels(self) -> frozenset[str]:
        """Every label that has at least one cue."""
        return frozenset(c.label for c in self.cues)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A matched pattern: which label it supports, with what weight, and the text it met."""

    label: str
    pattern: str
    weight: float
    field: str  # "description", "hashtags" or "voice_to_text"
    matched: str


@dataclass(frozen=True, slots=True)
class ThemeGuess:
    """The classifier's answer for one video.

    ``topic`` is a campaign theme id, or None when the video is not educational or nothing names
    a theme. ``confidence`` (0–1) is for the topic when educational, else for "not educational".
    """

    topic: str | None
    confidence: float
    educational: bool
    scores: tuple[tuple[str, float], ...]
    evidence: tuple[Evidence, ...]

    @property
    def label(self) -> str | None:
        """The topic, ``"not_educational"``, or None when educational but of no known theme."""
        return self.topic if self.educational else NOT_EDUCATIONAL

    def score(self, label: str) -> float:
        """Return the evidence for one label (0.0 for an unknown label)."""
        return dict(self.scores).get(label, 0.0)


@dataclass(frozen=True, slots=True)
class ThemeShare:
    """How many videos have a theme, for the public theme-mix chart; theme None = no theme."""

    theme: str | None
    count: int
    share: float


def words(text: str) -> list[str]:
    """Split text into folded words, dropping words too long to be real."""
    return [fold(w).replace("ё", "е") for w in _WORD_RE.findall(text) if len(w) <= MAX_WORD_CHARS]


def split_hashtag(tag: str) -> tuple[str, ...]:
    """Split a hashtag into folded words at case changes, digits and '_' (#LifeHack: life, hack)."""
    parts: list[str] = []
    for chunk in _WORD_RE.findall(tag[:MAX_HASHTAG_CHARS]):
        start = 0
        for i in range(1, len(chunk)):
            prev, cur = chunk[i - 1], chunk[i]
            nxt = chunk[i + 1] if i + 1 < len(chunk) else ""
            if (
                (prev.islower() and cur.isupper())
                or (prev.isupper() and cur.isupper() and nxt.islower())
                or (prev.isdigit() != cur.isdigit())
            ):
                parts.append(chunk[start:i])
                start = i
        parts.append(chunk[start:])
    return tuple(w for part in parts for w in words(part))


def parse_lexicon(data: Mapping[str, Any]) -> Lexicon:
    """Validate a lexicon in the shipped JSON shape, raising ValueError naming the bad entry."""
    if data.get("format") != 1:
        raise ValueError("lexicon: 'format' must be 1")
    labels = data.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ValueError("lexicon: 'labels' must be a non-empty object")
    cues: list[Cue] = []
    for label, tiers in labels.items():
        if not isinstance(tiers, dict) or not set(tiers) <= set(_TIERS):
            raise ValueError(f"lexicon: labels.{label} must hold only 'strong' and 'weak'")
        for tier, by_lang in tiers.items():
            if not isinstance(by_lang, dict) or not set(by_lang) <= set(_LANGS):
                raise ValueError(f"lexicon: labels.{label}.{tier} must hold only az, en, ru lists")
            for lang, patterns in by_lang.items():
                where = f"labels.{label}.{tier}.{lang}"
                if not isinstance(patterns, list):
                    raise ValueError(f"lexicon: {where} must be a list")
                for pattern in patterns:
                    if not isinstance(pattern, str):
                        raise ValueError(f"lexicon: {where} holds a non-string")
                    cues.append(_cue(label, pattern, _TIERS[tier], where))
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(t, str) for t in ignore):
        raise ValueError("lexicon: 'ignore' must be a list of strings")
    return Lexicon(cues=tuple(cues), ignore=frozenset(fold(t) for t in ignore))


@cache
def load_lexicon() -> Lexicon:
    """Read the lexicon shipped inside the package."""
    text = resources.files("oyren").joinpath("data/themes_lexicon.json").read_text("utf-8")
    return parse_lexicon(json.loads(text))


def _cue(label: str, pattern: str, weight: float, where: str = "") -> Cue:
    """Parse a pattern: words in order, each ending in '*' when it is a prefix stem."""
    parsed: list[tuple[str, bool]] = []
    for piece in pattern.split():
        prefix = piece.endswith("*")
        found = words(piece.rstrip("*"))
        parsed.extend((w, False) for w in found[:-1])
        if found:
            parsed.append((found[-1], prefix))
    if not parsed:
        raise ValueError(f"lexicon: {where}: '{pattern}' has no letters")
    if any(prefix and len(w) < MIN_STEM for w, prefix in parsed):
        raise ValueError(f"lexicon: {where}: '{pattern}': a prefix stem needs {MIN_STEM} letters")
    return Cue(label=label, pattern=pattern, words=tuple(parsed), weight=weight)


def _stem(word: str) -> str:
    """Turn a plain word from the campaign file into a pattern that meets its suffixed forms."""
    if word.endswith("*") or len(word) < 4:
        return word
    # Azerbaijani softens a final q/k before a vowel: xəttatlıq → xəttatlığı, yemək → yeməyi.
    if len(word) >= 5 and fold(word)[-1] in "qk":
        return word[:-1] + "*"
    return word + "*"


def _campaign_cues(theme: Theme) -> list[Cue]:
    """Cues from the campaign file: the theme's keywords and the words of its names."""
    out = []
    for keyword in theme.keywords:
        pattern = " ".join(_stem(p) for p in keyword.split())
        if words(pattern):
            out.append(_cue(theme.id, pattern, STRONG, f"themes.{theme.id}.keywords"))
    for name in (theme.name.az, theme.name.en):
        for w in words(name):
            if w not in _NAME_STOPWORDS and len(w) >= MIN_STEM:
                out.append(_cue(theme.id, _stem(w), STRONG))
    return out


class Classifier:
    """Guesses a video's theme among a campaign's themes; build once, then call :meth:`classify`."""

    __slots__ = (
        "_evidence",
        "_first_exact",
        "_first_prefix",
        "_folded",
        "_guesses",
        "_ignore",
        "_inner",
        "_inner_longest",
        "_max_stem",
        "_tags",
        "themes",
    )

    def __init__(
        self, themes: Sequence[Theme], *, lexicon: Lexicon | None = None,
        ignore: Iterable[str] = (),
    ) -> None:  # fmt: skip
        lexicon = load_lexicon() if lexicon is None else lexicon
        self.themes = tuple(t.id for t in themes)
        if len(set(self.themes)) != len(self.themes):
            raise ValueError("two themes share an id")
        if {NOT_EDUCATIONAL, TEACHING} & set(self.themes):
            raise ValueError(f"'{NOT_EDUCATIONAL}' and '{TEACHING}' cannot be theme ids")
        active = {*self.themes, NOT_EDUCATIONAL, TEACHING}
        raw = [c for c in lexicon.cues if c.label in active]
        raw += [c for t in themes for c in _campaign_cues(t)]
        # One cue per (label, words), the heaviest; a word shared by n labels gives each 1/n.
        best: dict[tuple[str, tuple[tuple[str, bool], ...]], Cue] = {}
        for c in raw:
            key = (c.label, c.words)
            if key not in best or c.weight > best[key].weight:
                best[key] = c
        sharing: dict[tuple[tuple[str, bool], ...], int] = {}
        for _label, key_words in best:
            sharing[key_words] = sharing.get(key_words, 0) + 1
        self._first_exact: dict[str, list[Cue]] = {}
        self._first_prefix: dict[str, list[Cue]] = {}
        self._inner: dict[str, bool] = {}  # word → whether any cue takes it as a prefix stem
        for (label, key_words), c in best.items():
            cue = Cue(label, c.pattern, key_words, c.weight / sharing[key_words])
            first, prefix = key_words[0]
            (self._first_prefix if prefix else self._first_exact).setdefault(first, []).append(cue)
            for w, p in key_words:
                if len(w) >= MIN_INNER_WORD:
                    self._inner[w] = self._inner.get(w, False) or p
        self._ignore = lexicon.ignore | {fold(t).replace("ё", "е") for t in ignore}
        for w in self._ignore:
            # Known filler inside run-together tags (#cookingtiktok), never evidence itself.
            if len(w) >= MIN_INNER_WORD:
                self._inner.setdefault(w, False)
        self._max_stem = max((len(s) for s in self._first_prefix), default=0)
        self._inner_longest = max((len(w) for w in self._inner), default=0)
        # Memories (see MEMORY): a word as found → folded; a hashtag → its words to match;
        # (field, folded word) → its evidence, or None when a cue of several words starts there;
        # a whole text → its guess.
        self._folded: dict[str, str] = {}
        self._tags: dict[str, tuple[str, list[str], list[str]]] = {}
        self._evidence: dict[tuple[str, str], tuple[Evidence, ...] | None] = {}
        self._guesses: dict[tuple[str, tuple[str, ...], str | None], ThemeGuess] = {}

    @classmethod
    def for_campaign(cls, campaign: Campaign, *, lexicon: Lexicon | None = None) -> Classifier:
        """Build a classifier for a campaign's themes, ignoring its own hashtags."""
        return cls(campaign.themes, lexicon=lexicon,
                   ignore=(*campaign.hashtags, *campaign.query_spellings))  # fmt: skip

    def classify(
        self, *, description: str = "", hashtags: Iterable[str] = (),
        voice_to_text: str | None = None,
    ) -> ThemeGuess:  # fmt: skip
        """Guess the theme of one video from its description, hashtags and speech transcript."""
        tags = tuple(hashtags)
        key = (description, tags, voice_to_text)
        guess = self._guesses.get(key)
        if guess is not None:
            return guess
        found: dict[tuple[str, str], Evidence] = {}
        for field_name, sequence in self._sequences(description, tags, voice_to_text or ""):
            for evidence in self._match(sequence, field_name):
                found.setdefault((evidence.label, evidence.pattern), evidence)
        totals = dict.fromkeys((*self.themes, NOT_EDUCATIONAL, TEACHING), 0.0)
        for evidence in found.values():
            totals[evidence.label] += evidence.weight
        guess = self._decide(totals, tuple(found.values()))
        _remember(self._guesses, key, guess)
        return guess

    def classify_observation(self, observation: Observation) -> ThemeGuess:
        """Guess the theme of the video an observation describes."""
        return self.classify(description=observation.description, hashtags=observation.hashtags,
                             voice_to_text=observation.voice_to_text)  # fmt: skip

    def topics(self, observations: Sequence[Observation]) -> list[tuple[str | None, float]]:
        """The topic and confidence of each observation's video, as :meth:`classify_observation`
        gives them, with each distinct caption, hashtag and transcript matched once."""
        columns = as_columns(observations)
        return _TopicBatch(self).topics(
            columns.description, columns.hashtags, columns.voice_to_text
        )

    def _decide(self, totals: dict[str, float], evidence: tuple[Evidence, ...]) -> ThemeGuess:
        theme_total = sum(map(totals.__getitem__, self.themes))
        against = totals[NOT_EDUCATIONAL]
        teaching = totals[TEACHING]
        # Most labels have no evidence: 0.0 needs no rounding.
        scores = tuple([(label, round(score, 6) if score else score)
                        for label, score in totals.items()])  # fmt: skip
        educational = theme_total + teaching > against
        topic: str | None = None
        confidence = 0.0
        if educational and theme_total > 0:
            # max() keeps the first of equal scores: campaign order breaks ties.
            topic = max(self.themes, key=lambda t: totals[t])
            confidence = totals[topic] / (theme_total + against + EVIDENCE_PRIOR)
        elif not educational and against > 0:
            confidence = against / (theme_total + teaching + against + EVIDENCE_PRIOR)
        return ThemeGuess(topic=topic, confidence=round(confidence, 6), educational=educational,
                          scores=scores, evidence=evidence)  # fmt: skip

    def _sequences(
        self, description: str, hashtags: Iterable[str], voice: str
    ) -> Iterator[tuple[str, list[str]]]:
        """Yield (field, words) runs in which patterns are matched."""
        description = description[:MAX_PART_CHARS]
        ignore = self._ignore
        yield "description", [w for w in self._words(description) if w not in ignore]
        seen: set[str] = set()
        tags = islice(chain(extract_hashtags(description), hashtags), MAX_HASHTAGS * 2)
        for tag in tags:
            known = self._tags.get(tag)
            if known is None:
                whole = "".join(self._words(tag[:MAX_HASHTAG_CHARS]))
                split = [w for w in split_hashtag(tag) if w not in ignore]
                known = (whole, split, self._inner_words(whole) if whole else [])
                _remember(self._tags, tag, known)
            whole, parts, inner = known
            if not whole or whole in seen or whole in ignore:
                continue
            seen.add(whole)
            if len(seen) > MAX_HASHTAGS:
                break
            yield "hashtags", [whole]
            if len(parts) > 1:
                yield "hashtags", parts
            yield "hashtags", inner
        yield "voice_to_text", [w for w in self._words(voice[:MAX_PART_CHARS]) if w not in ignore]

    def _words(self, text: str) -> list[str]:
        """:func:`words`, each word folded once per classifier."""
        folded = self._folded
        out = []
        for w in _WORD_RE.findall(text):
            if len(w) <= MAX_WORD_CHARS:
                f = folded.get(w)
                if f is None:
                    f = fold(w).replace("ё", "е")
                    _remember(folded, w, f)
                out.append(f)
        return out

    def _inner_words(self, tag: str) -> list[str]:
        """Find lexicon words run together in a folded hashtag, longest first, left to right.

        A word that must match whole is taken only where the tag ends or another known word
        starts after it, so the name #elmira does not yield 'elmi'.
        """
        out: list[str] = []
        longest = min(len(tag), self._inner_longest)
        i = 0
        while i <= len(tag) - MIN_INNER_WORD:
            for size in range(min(longest, len(tag) - i), MIN_INNER_WORD - 1, -1):
                candidate = tag[i : i + size]
                is_prefix = self._inner.get(candidate)
                if is_prefix is None:
                    continue
                end = i + size
                if is_prefix or end == len(tag) or self._starts_word(tag, end):
                    if candidate not in self._ignore:
                        out.append(candidate)
                    i = end
                    break
            else:
                i += 1
        return out

    def _starts_word(self, tag: str, at: int) -> bool:
        # Every inner word is at least MIN_INNER_WORD long, so look up the prefixes of the rest.
        rest = tag[at : at + self._inner_longest]
        return any(rest[:size] in self._inner for size in range(MIN_INNER_WORD, len(rest) + 1))

    def _cues_at(self, word: str) -> list[Cue]:
        cues = list(self._first_exact.get(word, ()))
        for size in range(MIN_STEM, min(len(word), self._max_stem) + 1):
            cues.extend(self._first_prefix.get(word[:size], ()))
        return cues

    def _match(self, sequence: list[str], field_name: str) -> Iterator[Evidence]:
        """Yield evidence for each position: per label, the heaviest (then longest) cue there."""
        memory = self._evidence
        for i, word in enumerate(sequence):
            key = (field_name, word)
            if key in memory:
                known = memory[key]
            else:
                # What a word alone gives, unless a cue of several words starts there.
                cues = self._cues_at(word)
                known = (
                    None
                    if any(len(c.words) > 1 for c in cues)
                    else tuple(self._match_at([word], 0, cues, field_name))
                )
                _remember(memory, key, known)
            if known is not None:
                yield from known
            else:
                yield from self._match_at(sequence, i, self._cues_at(word), field_name)

    def _match_at(
        self, sequence: list[str], i: int, cues: list[Cue], field_name: str
    ) -> Iterator[Evidence]:
        """The evidence at position ``i``, from the cues whose first word is there."""
        for cue, n in _heaviest(cues, sequence, i):
            yield Evidence(label=cue.label, pattern=cue.pattern, weight=cue.weight,
                           field=field_name, matched=" ".join(sequence[i : i + n]))  # fmt: skip


def _remember(memory: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memory) >= MEMORY:
        memory.clear()
    memory[key] = value


def _heaviest(cues: list[Cue], sequence: list[str], i: int) -> Iterable[tuple[Cue, int]]:
    """Per label, the heaviest (then longest) cue matching at position ``i``, with its length."""
    per_label: dict[str, tuple[Cue, int]] = {}
    for cue in cues:
        n = len(cue.words)
        if n > 1 and not _matches_rest(cue.words, sequence, i):
            continue
        held = per_label.get(cue.label)
        if held is None or (cue.weight, n) > (held[0].weight, held[1]):
            per_label[cue.label] = (cue, n)
    return per_label.values()


def _matches_rest(pattern: tuple[tuple[str, bool], ...], sequence: list[str], i: int) -> bool:
    if i + len(pattern) > len(sequence):
        return False
    for (w, prefix), token in zip(pattern[1:], sequence[i + 1 :], strict=False):
        if not (token.startswith(w) if prefix else token == w):
            return False
    return True


def needs_review(guess: ThemeGuess, *, threshold: float = LOW_CONFIDENCE) -> bool:
    """Tell whether a person should look: not educational, no theme, or low confidence."""
    return not guess.educational or guess.topic is None or guess.confidence < threshold


def theme_mix(topics: Iterable[str | None], themes: Sequence[Theme]) -> tuple[ThemeShare, ...]:
    """Count videos per campaign theme, in campaign order, then those with no theme (None)."""
    counts: dict[str | None, int] = {t.id: 0 for t in themes}
    counts[None] = 0
    for topic in topics:
        key = topic if topic in counts else None
        counts[key] += 1
    total = sum(counts.values())
    return tuple(
        ThemeShare(theme=k, count=v, share=v / total if total else 0.0) for k, v in counts.items()
    )


class _TopicBatch:
    """Many videos classified at once: what :meth:`Classifier.classify` does per video, with the
    matches of each distinct word, hashtag and transcript kept, and each distinct list of
    matched patterns decided once.

    A guess depends only on which (label, pattern) pairs matched and, since weights are added up
    as floats, in which order they were first met; both are kept exactly. A word whose cues are
    all single words matches the same wherever it stands, so its match is kept by word.
    """

    def __init__(self, classifier: Classifier) -> None:
        self.c = classifier
        self.descriptions: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {}
        self.tags: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self.voices: dict[str, tuple[tuple[str, str], ...]] = {}
        self.tag_lists: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, str], ...]]
        self.tag_lists = {}
        self.at_word: dict[str, tuple[tuple[str, str], ...] | list[Cue]] = {}
        self.weights: dict[tuple[str, str], float] = {}
        self.decided: dict[tuple[tuple[str, str], ...], tuple[str | None, float]] = {}

    def topics(
        self,
        descriptions: Sequence[str],
        hashtags: Sequence[tuple[str, ...]],
        voices: Sequence[str | None],
    ) -> list[tuple[str | None, float]]:
        """The topic and confidence of each video, from its texts."""
        by_text: dict[tuple[str, tuple[str, ...], str | None], tuple[str | None, float]] = {}
        out = []
        for key in zip(descriptions, hashtags, voices, strict=True):
            found = by_text.get(key)
            if found is None:
                found = by_text[key] = self._topic(*key)
            out.append(found)
        return out

    def _topic(
        self, description: str, hashtags: tuple[str, ...], voice: str | None
    ) -> tuple[str | None, float]:
        c = self.c
        description = description[:MAX_PART_CHARS]
        known = self.descriptions.get(description)
        if known is None:
            sequence = [w for w in words(description) if w not in c._ignore]
            known = (self._match(sequence), tuple(extract_hashtags(description)))
            self.descriptions[description] = known
        matched, inline = known
        tagged = self.tag_lists.get((inline, hashtags))
        if tagged is None:
            tagged = self.tag_lists[(inline, hashtags)] = self._tagged(inline, hashtags)
        speech = (voice or "")[:MAX_PART_CHARS]
        spoken = self.voices.get(speech)
        if spoken is None:
            sequence = [w for w in words(speech) if w not in c._ignore]
            spoken = self.voices[speech] = self._match(sequence)
        # Each pattern where it was first met: the description's, the hashtags', the speech's.
        order = tuple(dict.fromkeys(chain(matched, tagged, spoken)))
        decided = self.decided.get(order)
        if decided is None:
            totals = dict.fromkeys((*c.themes, NOT_EDUCATIONAL, TEACHING), 0.0)
            for label, pattern in order:
                totals[label] += self.weights[(label, pattern)]
            guess = c._decide(totals, ())
            decided = self.decided[order] = (guess.topic, guess.confidence)
        return decided

    def _tagged(
        self, inline: tuple[str, ...], hashtags: tuple[str, ...]
    ) -> tuple[tuple[str, str], ...]:
        """The patterns a video's hashtags match (those written in its description first), in
        the order they are met; the same whatever else the video says."""
        c = self.c
        keys: list[tuple[str, str]] = []
        seen: set[str] = set()
        for tag in islice(chain(inline, hashtags), MAX_HASHTAGS * 2):
            whole, matched = self._tag(tag)
            if not whole or whole in seen or whole in c._ignore:
                continue
            seen.add(whole)
            if len(seen) > MAX_HASHTAGS:
                break
            keys.extend(matched)
        return tuple(keys)

    def _tag(self, tag: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        """A hashtag's folded whole and the patterns it matches, as ``_sequences`` yields them."""
        known = self.tags.get(tag)
        if known is None:
            c = self.c
            whole = "".join(words(tag[:MAX_HASHTAG_CHARS]))
            keys: tuple[tuple[str, str], ...] = ()
            if whole and whole not in c._ignore:
                keys = self._match([whole])
                parts = [w for w in split_hashtag(tag) if w not in c._ignore]
                if len(parts) > 1:
                    keys += self._match(parts)
                keys += self._match(c._inner_words(whole))
            known = self.tags[tag] = (whole, keys)
        return known

    def _match(self, sequence: list[str]) -> tuple[tuple[str, str], ...]:
        """The (label, pattern) of each match in ``sequence``, in the order ``_match`` yields."""
        keys: list[tuple[str, str]] = []
        for i, word in enumerate(sequence):
            known = self.at_word.get(word)
            if known is None:
                cues = self.c._cues_at(word)
                if all(len(cue.words) == 1 for cue in cues):
                    known = self._pick(cues, sequence, i)
                else:
                    known = cues
                self.at_word[word] = known
            keys.extend(known if isinstance(known, tuple) else self._pick(known, sequence, i))
        return tuple(keys)

    def _pick(self, cues: list[Cue], sequence: list[str], i: int) -> tuple[tuple[str, str], ...]:
        """Per label, the heaviest (then longest) cue matching at position ``i``."""
        keys = []
        for cue, _ in _heaviest(cues, sequence, i):
            key = (cue.label, cue.pattern)
            self.weights[key] = cue.weight
            keys.append(key)
        return tuple(keys)
