"""Languages: gettext catalogs for Azerbaijani and English, and the reader's number and date forms.

The catalogs are plain ``.po`` files under ``locale/<lang>/LC_MESSAGES/messages.po``, read with
Babel once at start-up (no compiled ``.mo`` in the source tree). Message ids are English;
Azerbaijani is the default language. :class:`Translator` is what pages and the words module use:
``gettext``/``ngettext`` plus numbers and dates formatted for the reader's locale.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_decimal, format_decimal, format_percent
from babel.support import Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogs",
    "Translator",
    "load_catalogs",
    "read_catalog",
]

LANGUAGES = ("az", "en")
DEFAULT_LANGUAGE = "az"
LANGUAGE_NAMES = {"az": "Azərbaycanca", "en": "English"}


def read_catalog(lang: str) -> Any:
    """Read the ``.po`` catalog of ``lang`` shipped with the package (a Babel ``Catalog``)."""
    resource = files("oyren.web").joinpath("locale", lang, "LC_MESSAGES", "messages.po")
    with resource.open("rb") as handle:
        return read_po(handle, locale=lang)


def _compile(lang: str) -> Translations:
    # Compile in memory: gettext wants a .mo, and shipping generated files is one more thing to
    # keep in step. Fuzzy entries are left out, as msgfmt does.
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang))
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")


@dataclass(frozen=True, slots=True)
class Translator:
    """Words, numbers and dates in one language."""

    lang: str
    translations: Translations
    # Parsed once: Babel re-parses a locale given by name on every call, which showed up as a
    # good share of a leaderboard page's rendering time.
    locale: Locale = field(init=False, repr=False, compare=False)
    # Integers in groups of three and the default moment pattern are what long tables show
    # row after row; they are formatted by hand from the locale's own symbols and month names
    # (tests check the result equals Babel's for both languages), everything else by Babel.
    _group: str | None = field(init=False, repr=False, compare=False)
    _minus: str = field(init=False, repr=False, compare=False)
    _months: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        locale = Locale.parse(self.lang)
        object.__setattr__(self, "locale", locale)
        grouped = locale.decimal_formats[None].pattern == "#,##0.###"
        symbols = locale.number_symbols.get("latn", locale.number_symbols)
        object.__setattr__(self, "_group", symbols["group"] if grouped else None)
        object.__setattr__(self, "_minus", symbols["minusSign"])
        months = locale.months["format"]["wide"]
        object.__setattr__(self, "_months", ("", *(months[m] for m in range(1, 13))))

    def gettext(self, message: str) -> str:
        """Translate ``message``."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate the form of ``singular``/``plural`` that fits ``n``."""
        return self.translations.ngettext(singular, plural, n)

    def number(self, value: int | float) -> str:
        """A number with the locale's digit grouping: 1.234.567 in az, 1,234,567 in en."""
        if type(value) is int and self._group is not None:
            text = f"{abs(value):,}".replace(",", self._group)
            return self._minus + text if value < 0 else text
        return format_decimal(value, locale=self.locale)

    def compact(self, value: int | float) -> str:
        """A short number for charts: 1,2 mln / 1.2M."""
        return format_compact_decimal(value, locale=self.locale, fraction_digits=1)

    def percent(self, value: float) -> str:
        """A share as a percentage."""
        return format_percent(value, locale=self.locale)

    def datetime(self, moment: dt.datetime, pattern: str = "d MMMM y, HH:mm") -> str:
        """A moment in its own time zone, e.g. ``22 aprel 2024, 01:00``."""
        if pattern == "d MMMM y, HH:mm" and moment.tzinfo is not None:
            return (
                f"{moment.day} {self._months[moment.month]} {moment.year}, "
                f"{moment.hour:02d}:{moment.minute:02d}"
            )
        return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=self.locale)

    def time(self, moment: dt.datetime) -> str:
        """The time of day, 24-hour, with seconds only when they are not zero."""
        pattern = "HH:mm:ss" if moment.second else "HH:mm"
        return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=self.locale)

    def date(self, day: dt.date | dt.datetime, pattern: str = "d MMMM y") -> str:
        """A date, e.g. ``21 aprel 2024``."""
        return format_date(day, pattern, locale=self.locale)

    def day_month(self, day: dt.date | dt.datetime) -> str:
        """A date without the year, e.g. ``22 April``."""
        return format_date(day, "d MMMM", locale=self.locale)

    def city(self, timezone: str) -> str:
        """The city a time zone is named after, in this language: Bakı / Baku."""
        return str(get_timezone_location(timezone, locale=self.locale, return_city=True))

    def duration(self, seconds: int) -> str:
        """A length in seconds as words, e.g. ``45 seconds``."""
        return self.ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": self.number(seconds)}

    def remaining(self, delta: dt.timedelta) -> tuple[int, int, int, int]:
        """Split a time span into days, hours, minutes and seconds (never negative)."""
        total = max(0, int(delta.total_seconds()))
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        return days, hours, minutes, seconds


class Catalogs:
    """Every language's translations, compiled once."""

    def __init__(self, translations: dict[str, Translations]) -> None:
        self._translators = {lang: Translator(lang, t) for lang, t in translations.items()}

    def translator(self, lang: str) -> Translator:
        """The translator for ``lang``, falling back to the default language."""
        return self._translators.get(lang) or self._translators[DEFAULT_LANGUAGE]


def load_catalogs() -> Catalogs:
    """Read and compile the catalogs of every language."""
    return Catalogs({lang: _compile(lang) for lang in LANGUAGES})
