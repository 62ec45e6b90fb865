"""The drawing layer the forest plot uses: one layout written as SVG text or as a PNG, and round axis ticks."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from synth.figures import canvas
from synth.figures.axes import linear_ticks, ratio_ticks
from synth.figures.canvas import Canvas
from synth.figures.forest import forest_plot, forest_svg
from synth.meta.effects import compute_effects
from synth.meta.pooling import PoolOptions


def _drawing() -> Canvas:
    c = Canvas(200, 80, title="A <test>")
    c.text(10, 20, "p < 0.05 & more", bold=True)
    c.text(190, 20, "right", anchor="end", colour="#bf0000")
    c.line(0, 60, 200, 60, width=2.0)
    c.square(100, 40, 10, fill="#2b6cb0")
    c.circle(150, 40, 4.5, fill="#ffffff", stroke="#02c100")
    c.text(5, 70, "")  # empty text draws nothing
    return c


def test_svg_keeps_text_as_escaped_text_and_every_shape() -> None:
    svg = canvas.svg(_drawing())
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert 'viewBox="0 0 200 80"' in svg and "<title>A &lt;test&gt;</title>" in svg
    assert re.findall(r">([^<>]+)</text>", svg) == ["p &lt; 0.05 &amp; more", "right"]
    assert 'font-weight="bold">p &lt;' in svg and 'text-anchor="end"' in svg and 'fill="#bf0000"' in svg
    assert svg.count("<polyline") == 1 and svg.count("<polygon") == 1 and svg.count("<circle") == 1
    assert 'points="95,35 105,35 105,45 95,45"' in svg  # the square is centred on its point


def test_png_and_svg_are_real_files(tmp_path: Path) -> None:
    png = canvas.save(_drawing(), tmp_path / "d.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png.read_bytes()[16:20], "big"), int.from_bytes(png.read_bytes()[20:24], "big")
    assert (width, height) == (200 * 150 // 72, 80 * 150 // 72)  # points at 150 dpi, whole pixels
    svg = canvas.save(_drawing(), tmp_path / "sub" / "d.svg")
    assert svg.read_text() == canvas.svg(_drawing())


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (0.3, 3.0, [0.5, 1, 2]),
    (0.004, 300.0, [0.01, 0.1, 1, 10, 100]),  # more than nine round ratios: powers of ten only
    (0.03, 12.0, [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]),
    (0.7, 1.6, [0.8, 1, 1.25, 1.5]),  # narrow axis: finer steps
    (0.95, 1.05, []),  # fewer than two fit: the caller falls back to linear ticks
])
def test_ratio_ticks_are_round_ratios_inside_the_axis(lo: float, hi: float, expected: list[float]) -> None:
    assert ratio_ticks(math.log(lo), math.log(hi)) == expected


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (-0.93, 1.4, [-0.5, 0.0, 0.5, 1.0]),
    (0.0123, 0.0456, [0.02, 0.03, 0.04]),
    (-12.0, 3.0, [-10.0, -5.0, 0.0]),
    (2.0, 2.0, [2.0]),
])
def test_linear_ticks_are_round_steps(lo: float, hi: float, expected: list[float]) -> None:
    assert linear_ticks(lo, hi) == pytest.approx(expected)


def _table() -> pd.DataFrame:
    return pd.DataFrame({"study": ["Ash", "Birch", "Cedar", "Damson"], "events_t": [4, 10, 7, 30],
                         "n_t": [50, 80, 60, 200], "events_c": [12, 18, 9, 41], "n_c": [50, 82, 61, 198]})


def test_forest_on_a_ratio_scale_labels_round_ratios_and_its_rows() -> None:
    svg = forest_svg(compute_effects(_table(), "OR"), PoolOptions())
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert [t for t in texts if t in {"Ash", "Birch", "Cedar", "Damson"}] == ["Ash", "Birch", "Cedar", "Damson"]
    # every estimate and the pooled CI lie within 0.2-5, so the axis is 1/5 to 5 with round ratios
    assert [t for t in texts if t in {"0.01", "0.1", "0.2", "0.5", "1", "2", "5", "10"}] == ["0.2", "0.5", "1", "2", "5"]
    assert "Odds ratio (log scale)" in texts
    assert "Total (95% CI)" in texts and "100.0%" in texts and "4/50" in texts and "Events/Total" in texts
    weights = [float(t[:-1]) for t in texts if re.fullmatch(r"\d+\.\d%", t)]
    assert sum(weights[:-1]) == pytest.approx(100.0, abs=0.2) and weights[-1] == 100.0


def test_forest_png_draws_the_same_layout(tmp_path: Path) -> None:
    out = forest_plot(compute_effects(_table(), "OR"), tmp_path / "f.png", PoolOptions())
    data = (tmp_path / "f.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert out["k"] == 4 and out["estimate"] < 0


def _wide() -> pd.DataFrame:
    # Elm's interval (1 event in 12 against 9 in 12) reaches far below the others
    return pd.DataFrame({"study": ["Ash", "Birch", "Cedar", "Elm"], "events_t": [14, 20, 17, 1],
                         "n_t": [50, 80, 60, 12], "events_c": [18, 26, 21, 9], "n_c": [50, 82, 61, 12]})


def test_forest_names_the_arms_says_who_is_favoured_and_totals_the_arms() -> None:
    from synth.figures.forest import Arms

    table = compute_effects(_wide(), "OR")
    svg = forest_svg(table, PoolOptions(), arms=Arms("Partnership", "Usual care", "lower-is-better"))
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "Partnership" in texts and "Usual care" in texts and "Experimental" not in texts
    assert texts.index("Favours Partnership") + 1 == texts.index("Favours Usual care")  # left, then right
    assert texts[texts.index("Total events") + 1: texts.index("Total events") + 3] == ["52", "74"]
    total = texts.index("Total (95% CI)")
    assert texts[total + 1: total + 3] == ["202", "205"]  # participants per arm, in the Total row
    flipped = forest_svg(table, PoolOptions(), arms=Arms("Partnership", "Usual care", "higher-is-better"))
    ft = re.findall(r">([^<>]+)</text>", flipped)
    assert ft.index("Favours Usual care") + 1 == ft.index("Favours Partnership")
    assert "Favours" not in " ".join(re.findall(r">([^<>]+)</text>", forest_svg(table, PoolOptions())))


def test_forest_clips_an_interval_past_the_axis_with_an_arrow() -> None:
    table = compute_effects(_wide(), "OR")
    res = forest_svg(table, PoolOptions())
    triangles = [p for p in re.findall(r'<polygon points="([^"]+)"', res) if len(p.split()) == 3]
    lo = math.exp(float(table.yi[3]) - 1.959964 * math.sqrt(float(table.vi[3])))
    assert lo < 0.01 and len(triangles) == 1  # Elm's lower limit is beyond the axis: one arrowhead
    texts = re.findall(r">([^<>]+)</text>", res)
    assert "0.01" in texts and "100" in texts  # Elm's own estimate (about 0.04) needs the 0.01-100 axis


def test_arms_come_from_the_protocol() -> None:
    from synth.figures.forest import arms_for
    from synth.protocol import load_protocol

    protocol = load_protocol(Path(__file__).resolve().parent.parent / "protocols" / "partnership-outcomes.toml")
    arms = arms_for(protocol, "mortality")
    assert (arms.intervention, arms.control) == ("Partnership", "Usual care")
    assert arms.direction == next(o.direction for o in protocol.outcomes if o.id == "mortality")
    assert arms_for(protocol).direction is None


def test_forest_shows_each_rows_own_data_when_formats_mix() -> None:
    # two trials give counts, one only its published odds ratio with a 95% CI: as meta_table brings them to
    # one scale (yi, vi) and keeps the counts beside them
    counts = compute_effects(_table().iloc[:2].reset_index(drop=True), "OR")
    yi = [*counts.yi.tolist(), math.log(0.5)]
    vi = [*counts.vi.tolist(), ((math.log(0.9) - math.log(0.28)) / (2 * 1.959964)) ** 2]
    frame = pd.DataFrame({"study": ["Ash", "Birch", "Rowan"], "yi": yi, "vi": vi,
                          "events_t": [4, 10, None], "n_t": [50, 80, 70], "events_c": [12, 18, None],
                          "n_c": [50, 82, 71]})
    table = compute_effects(frame, "GEN")
    table.measure = "OR"  # as synth.analysis.table.meta_effects labels a mixed frame
    texts = re.findall(r">([^<>]+)</text>", forest_svg(table, PoolOptions()))
    assert "4/50" in texts and "18/82" in texts
    assert not any(t.endswith("/70") or t.startswith("NA/") for t in texts)  # Rowan has no counts to show
    assert "0.50 [0.28, 0.90]" in texts
    assert texts[texts.index("Total events") + 1: texts.index("Total events") + 3] == ["14", "30"]
