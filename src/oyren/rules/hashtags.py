"""Hashtag folding, extraction and matching.

TikTok matches hashtag names literally, while entrants spell the campaign tag in many ways
(``TikTokdanÖyrən``, ``tiktokdanoyren``, ``TİKTOKDANÖYRƏN``). We compare *folded* tags: Unicode
NFKC, Azerbaijani letters to their Latin base (ə→e, ö→o, ü→u, ğ→g, ı→i, ş→s, ç→c), Turkish
dotted İ to i, then casefold. A tag matches only as a whole: ``tiktokdanoyren2`` is not
``tiktokdanoyren``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["extract_hashtags", "fold", "has_campaign_hashtag", "spellings"]

# Letters folded to their ASCII base before casefolding. Upper case is listed explicitly because
# "İ".casefold() is "i̇" (i + combining dot) and "I".casefold() is "i", not "ı".
_AZ_FOLD = str.maketrans(
    {
        "ə": "e",
        "Ə": "e",
        "ö": "o",
        "Ö": "o",
        "ü": "u",
        "Ü": "u",
        "ğ": "g",
        "Ğ": "g",
        "ı": "i",
        "I": "i",
        "İ": "i",
        "ş": "s",
        "Ş": "s",
        "ç": "c",
        "Ç": "c",
    }
)

# A hashtag in a description: '#' then word characters (letters, digits, underscore, marks),
# as TikTok's own parser does. Emoji and punctuation end the tag.
_HASHTAG_RE = re.compile(r"[#＃]([\w\u0300-\u036f\u0600-\u06ff]+)")


_EDGES_RE = re.compile(r"^[\s#]+|[\s#]+$")


@lru_cache(maxsize=65536)
def fold(tag: str) -> str:
    """Return the comparison form of a hashtag: no "#", NFKC, Azerbaijani letters to Latin."""
    tag = unicodedata.normalize("NFKC", tag).translate(_AZ_FOLD).casefold()
    # Drop combining marks left over (e.g. a decomposed dot above) so ö typed as o+¨ folds to o.
    decomposed = unicodedata.normalize("NFD", tag)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _EDGES_RE.sub("", bare)


def extract_hashtags(description: str) -> tuple[str, ...]:
    """Return the hashtags written in a video description, without '#', in order, once each."""
    seen: dict[str, None] = {}
    for match in _HASHTAG_RE.finditer(description):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


def has_campaign_hashtag(tags: Iterable[str], campaign_folded: frozenset[str]) -> bool:
    """Tell whether any of ``tags`` folds to one of the campaign's folded hashtags."""
    return any(fold(tag) in campaign_folded for tag in tags)


# Which written letters fold to a given ASCII letter, for building the literal spellings the
# TikTok API needs (it does not fold). Upper case is irrelevant there: its matching ignores case.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "e": ("e", "ə"),
    "o": ("o", "ö"),
    "u": ("u", "ü"),
    "g": ("g", "ğ"),
    "i": ("i", "ı"),
    "s": ("s", "ş"),
    "c": ("c", "ç"),
}


def spellings(tag: str, *, limit: int = 64) -> list[str]:
    """List lowercase spellings of ``tag`` that fold to the same form, the folded one first.

    Every letter with an Azerbaijani counterpart may be written either way; the product grows
    fast, so the variants are ordered by how many letters differ from the written form and cut at
    ``limit``. The written form and the fully folded form are always included.
    """
    written = unicodedata.normalize("NFC", tag.lstrip("#＃")).lower().replace("i̇", "i")
    target = fold(tag)
    options = [_VARIANTS.get(ch, (ch,)) for ch in target]
    # Start from the written spelling where it folds letter by letter, else from the folded one.
    base = list(written) if len(written) == len(target) else list(target)
    out: dict[str, None] = {target: None, "".join(base): None}
    positions = [i for i, opts in enumerate(options) if len(opts) > 1]
    for changes in range(1, len(positions) + 1):
        for chosen in itertools.combinations(positions, changes):
            variant = list(base)
            for i in chosen:
                alternatives = [o for o in options[i] if o != base[i]]
                variant[i] = alternatives[0] if alternatives else base[i]
            out.setdefault("".join(variant), None)
            if len(out) >= limit:
                return list(out)
    return list(out)
