"""Charts drawn on the server as SVG."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from oyren.web.charts import Series, bar_chart, column_chart, line_chart, nice_ticks


class Elements(HTMLParser):
    """Tag names and texts of an SVG fragment."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.texts: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0.0, 1.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (1000, [0.0, 250.0, 500.0, 750.0, 1000.0]),
        (90_000_000, [0.0, 25e6, 50e6, 75e6, 100e6]),
    ],
)
def test_nice_ticks_cover_the_top_with_round_steps(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks


def test_line_chart_escapes_labels_and_marks_the_deadline() -> None:
    svg = line_chart(
        [Series("<b>views</b>", [(0, 0), (10, 5)])],
        title="Views <script>",
        description="d",
        x_ticks=[(0, "21 Feb"), (10, '"><img>')],
        y_label=str,
        marker=(8, "deadline"),
    )
    parsed = Elements(str(svg))
    assert parsed.tags[:3] == ["svg", "title", "desc"]
    assert "script" not in parsed.tags and "img" not in parsed.tags and "b" not in parsed.tags
    assert {"Views <script>", '"><img>', "deadline", "<b>views</b>"} <= set(parsed.texts)
    assert parsed.tags.count("polyline") == 1


def test_bar_chart_grows_with_its_rows() -> None:
    svg = str(
        bar_chart([(f"t{i}", i) for i in range(12)], title="t", description="d", value_label=str)
    )
    assert svg.count("<rect ") == 12
    assert 'viewBox="0 0 640 336"' in svg  # 16 + 12 rows of 26 + 8


def test_column_chart_draws_one_column_per_bin() -> None:
    svg = str(
        column_chart([("0–10", 3), ("10–100", 0)], title="t", description="d", value_label=str)
    )
    assert svg.count("<rect ") == 2
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_axis_labels_keep_one_unit() -> None:
    from oyren.web.charts import Unit
    from oyren.web.i18n import load_catalogs

    catalogs = load_catalogs()
    en, az = Unit(catalogs.translator("en")), Unit(catalogs.translator("az"))
    assert [en.labels(1_500_000)(v) for v in (0, 500_000, 1_000_000, 1_500_000)] == [
        "0", "0.5M", "1M", "1.5M"]  # fmt: skip
    assert [az.labels(1_500_000)(v) for v in (500_000, 1_500_000)] == ["0,5\xa0mln", "1,5\xa0mln"]
    assert [en.labels(100_000)(v) for v in (0, 25_000, 100_000)] == ["0", "25K", "100K"]
    assert en.range(100_000, 1_000_000) == "0.1–1M"
    assert en.range(1_000_000, None) == "1M+"
    assert en.range(0, 100) == "0–100"


def test_chart_captions_are_computed_from_the_data(client: httpx.Client) -> None:
    page = client.get("/campaigns/sandbox-2024/stats?lang=en").text
    assert re.search(r"[\d,]+ videos take part; the most were posted on \d+ \w+ \([\d,]+\)\.", page)
    assert re.search(r"[\d,]+ views in all at the end of \d+ \w+\.", page)
    assert re.search(r"Half of the videos have at most [\d.,]+[KM]? views", page)
