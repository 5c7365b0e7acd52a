"""Charts drawn on the server as SVG."""

from __future__ import annotations

from html.parser import HTMLParser

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
