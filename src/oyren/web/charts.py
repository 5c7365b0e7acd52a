"""Charts drawn on the server as SVG: no script, no CDN, nothing fetched by the reader's browser.

Each function takes plain numbers and already-translated labels and returns markup to place in a
page. Every label passes through :func:`markupsafe.escape`, since topics and names may come from
TikTok. Colours come from the stylesheet (classes ``series-N``, ``bar``, ``axis``…), which keeps
them themable and within the Content-Security-Policy (no inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from oyren.pages.organizer import Evidence
from oyren.pages.trends import Stats
from oyren.web.i18n import Translator

__all__ = [
    "Series",
    "Unit",
    "bar_chart",
    "column_chart",
    "line_chart",
    "nice_ticks",
    "stats_captions",
    "stats_charts",
    "video_chart",
]

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 36  # room for the axes' labels


@dataclass(frozen=True, slots=True)
class Series:
    """A named line: (x, y) points in increasing x."""

    name: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Unit:
    """Short numbers in one unit chosen for a whole axis or label (thousands, millions…),
    with the reader's decimal separator and the locale's own abbreviation."""

    t: Translator

    def labels(self, top: float) -> Callable[[float], str]:
        """Label values up to ``top`` all in the unit that suits ``top``."""
        for size in (1e9, 1e6, 1e3):
            if top >= size:
                suffix = self.t.compact(size).removeprefix("1")
                break
        else:
            return lambda v: self.t.number(round(v))
        digits = 0 if top >= 10 * size else 1

        def label(value: float) -> str:
            if value == 0:
                return "0"
            amount = round(value / size, digits)
            return self.t.number(int(amount) if amount == int(amount) else amount) + suffix

        return label

    def range(self, low: float, high: float | None) -> str:
        """A range of values in one unit: 100–500, 0,5–1 mln, 1 mln+."""
        if high is None:
            return f"{self.labels(low)(low)}+"
        label = self.labels(high)
        return f"{label(low).removesuffix(self._suffix(high))}–{label(high)}"

    def _suffix(self, top: float) -> str:
        for size in (1e9, 1e6, 1e3):
            if top >= size:
                return self.t.compact(size).removeprefix("1")
        return ""


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``: 0, 250, 500, 750, 1000…"""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _svg(
    title: str, description: str, body: list[str], *, css_class: str, height: int = HEIGHT
) -> Markup:
    head = (
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _y_axis(
    ticks: list[float], scale: Callable[[float], float], label: Callable[[float], str]
) -> list[str]:
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(label(tick))}</text>"
        )
    return parts


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    x_ticks: Sequence[tuple[float, str]],
    y_label: Callable[[float], str] | Unit,
    marker: tuple[float, str] | None = None,
    dots: Sequence[tuple[float, float]] = (),
) -> Markup:
    """Lines over time; ``marker`` draws a labelled vertical rule (e.g. the deadline) and
    ``dots`` mark points on their own (e.g. each observation)."""
    xs = [x for s in series for x, _ in s.points] + [x for x, _ in x_ticks]
    if marker is not None:
        xs.append(marker[0])
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    ticks = nice_ticks(max((y for s in series for _, y in s.points), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / ticks[-1] * plot_h

    # One unit for the whole axis: 0, 500K, 1M, 1.5M would mix two; 0, 0.5M, 1M, 1.5M does not.
    label_of = y_label.labels(ticks[-1]) if isinstance(y_label, Unit) else y_label
    body = _y_axis(ticks, sy, label_of)
    for i, (x, label) in enumerate(x_ticks):
        # The first and last labels hang inwards so the chart's edges do not cut them.
        anchor = "start" if i == 0 else "end" if i == len(x_ticks) - 1 else "middle"
        body.append(
            f'<text class="tick" x="{sx(x):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}">'
            f"{escape(label)}</text>"
        )
    if marker is not None:
        mx = sx(marker[0])
        body.append(
            f'<line class="marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>'
            f'<text class="marker-label" x="{mx - 4:.1f}" y="{TOP + 12}" text-anchor="end">'
            f"{escape(marker[1])}</text>"
        )
    for index, s in enumerate(series):
        if not s.points:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in s.points)
        body.append(
            f'<polyline class="line series-{index % 4}" points="{path}" fill="none">'
            f"<title>{escape(s.name)}</title></polyline>"
        )
    for x, y in dots:
        body.append(f'<circle class="dot" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5"/>')
    body.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
        f'y2="{TOP + plot_h}"/>'
    )
    return _svg(title, description, body, css_class="line-chart")


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    description: str,
    value_label: Callable[[float], str],
) -> Markup:
    """Horizontal bars with their labels and values, largest first as given."""
    row = 26
    height = max(HEIGHT // 2, TOP + row * len(bars) + 8)
    label_w = 200
    plot_w = WIDTH - label_w - 90
    top = max((v for _, v in bars), default=0.0) or 1.0
    body = []
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row
        w = value / top * plot_w
        body.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar series-{i % 4}" x="{label_w}" y="{y + 3}" width="{w:.1f}" '
            f'height="{row - 8}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 16}">'
            f"{escape(value_label(value))}</text>"
        )
    # The bar chart's height follows its rows.
    return _svg(title, description, body, css_class="bar-chart", height=height)


def column_chart(
    columns: Sequence[tuple[str, float]],
    *,
    title: str,
    description: str,
    value_label: Callable[[float], str],
) -> Markup:
    """Vertical columns (a histogram): one per labelled bin, left to right."""
    ticks = nice_ticks(max((v for _, v in columns), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sy(y: float) -> float:
        return TOP + plot_h - y / ticks[-1] * plot_h

    body = _y_axis(ticks, sy, value_label)
    slot = plot_w / max(1, len(columns))
    for i, (label, value) in enumerate(columns):
        x = LEFT + i * slot
        y = sy(value)
        body.append(
            f'<rect class="bar series-0" x="{x + slot * 0.1:.1f}" y="{y:.1f}" '
            f'width="{slot * 0.8:.1f}" height="{TOP + plot_h - y:.1f}">'
            f"<title>{escape(label)}: {escape(value_label(value))}</title></rect>"
            f'<text class="tick" x="{x + slot / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return _svg(title, description, body, css_class="column-chart")


def _date_ticks(t: Translator, days: Sequence[datetime], count: int = 5) -> list[tuple[float, str]]:
    if not days:
        return []
    step = max(1, len(days) // count)
    picked = list(days[::step])
    # End on the last day; drop the tick before it when the two would crowd each other.
    if picked[-1] != days[-1]:
        if len(picked) > 1 and days.index(picked[-1]) > len(days) - 1 - step // 2:
            picked.pop()
        picked.append(days[-1])
    return [(d.timestamp(), t.day_month(d)) for d in picked]


def stats_charts(t: Translator, stats: Stats) -> dict[str, Markup]:
    """The four charts of the charts page, labelled in the reader's language."""
    c = stats.campaign
    days = [p.day for p in stats.entries_by_day]
    entries = line_chart(
        [
            Series(
                t.gettext("Videos taking part"),
                [(p.day.timestamp(), p.value) for p in stats.entries_by_day],
            )
        ],
        title=t.gettext("Entries over time"),
        description=t.gettext("Videos taking part, by the day they were posted (cumulative)."),
        x_ticks=_date_ticks(t, days),
        y_label=Unit(t),
    )
    views = line_chart(
        [Series(t.gettext("Views"), [(p.day.timestamp(), p.value) for p in stats.views_by_day])],
        title=t.gettext("Views over time"),
        description=t.gettext("Total views of the videos taking part at the end of each day."),
        x_ticks=_date_ticks(t, days),
        y_label=Unit(t),
    )
    names = {theme.id: theme.name.get(t.lang) for theme in c.themes}
    topics = bar_chart(
        [
            (names.get(topic, t.gettext("Not classified yet")), count)
            for topic, count in stats.topics
        ],
        title=t.gettext("Topics"),
        description=t.gettext("Videos taking part by topic."),
        value_label=lambda v: t.number(int(v)),
    )
    distribution = column_chart(
        [
            (
                Unit(t).range(b.low, b.high),
                b.count,
            )
            for b in stats.distribution
        ],
        title=t.gettext("Distribution of views"),
        description=t.gettext("How many videos reached how many views."),
        value_label=lambda v: t.number(int(v)),
    )
    return {"entries": entries, "views": views, "topics": topics, "distribution": distribution}


def video_chart(t: Translator, evidence: Evidence) -> Markup:
    """One video's view counts as observed (dots), from zero at posting, with the deadline."""
    campaign = evidence.campaign
    posted = evidence.video.posted_at.timestamp()
    cutoff = campaign.cutoff.timestamp()
    seen = [(at.timestamp(), float(views)) for at, views in evidence.series]
    last = max([posted, cutoff, *(x for x, _ in seen)])
    ticks = [(posted, t.day_month(evidence.video.posted_at))]
    if last > posted:
        ticks.append((last, t.day_month(campaign.local(int(last)))))
    return line_chart(
        [Series(t.gettext("Views"), [(posted, 0.0), *seen])],
        title=t.gettext("Views over time"),
        description=t.gettext("Every view count we saw, and the deadline."),
        x_ticks=ticks,
        y_label=Unit(t),
        marker=(cutoff, t.gettext("deadline")),
        dots=seen,
    )


def stats_captions(t: Translator, stats: Stats) -> dict[str, str]:
    """What each chart of the charts page shows, said from its own data."""
    out: dict[str, str] = {}
    entries = stats.entries_by_day
    if entries and entries[-1].value:
        daily = [
            (p.day, p.value - (entries[i - 1].value if i else 0)) for i, p in enumerate(entries)
        ]
        busiest = max(daily, key=lambda d: d[1])
        out["entries"] = t.gettext(
            "%(num)s videos take part; the most were posted on %(day)s (%(count)s)."
        ) % {
            "num": t.number(entries[-1].value),
            "day": t.day_month(busiest[0]),
            "count": t.number(busiest[1]),
        }
    else:
        out["entries"] = t.gettext("No video takes part yet.")
    views = stats.views_by_day
    if views and views[-1].value:
        out["views"] = t.gettext("%(views)s views in all at the end of %(day)s.") % {
            "views": t.number(views[-1].value),
            "day": t.day_month(views[-1].day),
        }
    else:
        out["views"] = t.gettext("No views counted yet.")
    names = {theme.id: theme.name.get(t.lang) for theme in stats.campaign.themes}
    classified = [(topic, n) for topic, n in stats.topics if topic in names]
    if classified:
        topic, count = max(classified, key=lambda tc: tc[1])
        total = sum(n for _, n in stats.topics)
        out["topics"] = t.gettext(
            "The most common topic is “%(topic)s”: %(num)s of %(total)s videos."
        ) % {"topic": names[topic], "num": t.number(count), "total": t.number(total)}
    else:
        out["topics"] = t.gettext("No video has a topic yet.")
    bins = [b for b in stats.distribution if b.count]
    counted = sum(b.count for b in bins)
    if counted:
        half, seen = counted / 2, 0
        middle = bins[-1]
        for b in bins:
            seen += b.count
            if seen >= half:
                middle = b
                break
        top = bins[-1]
        out["distribution"] = t.gettext(
            "Half of the videos have at most %(middle)s views; %(num)s reached %(top)s."
        ) % {
            "middle": Unit(t).range(middle.low, middle.high).split("–")[-1]
            if middle.high is not None
            else Unit(t).range(middle.low, None),
            "num": t.number(top.count),
            "top": Unit(t).range(top.low, top.high),
        }
    else:
        out["distribution"] = t.gettext("No views counted yet.")
    return out
