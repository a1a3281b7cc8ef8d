"""The figures of csqbound.report.plots, checked on their artists at the saved size.

Each figure is built (unsaved) and drawn once on its Agg canvas; the checks read
the drawn artists: every text at least SMALL points and none overlapping another,
legends and slope labels outside the panels, one row of panels at most WIDTH
inches wide, and the support graph's node shapes, arrowheads and witness arcs.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from csqbound.expansion import expand
from csqbound.report import plots
from csqbound.sgd.train import train
from csqbound.support import SupportGraph

matplotlib = pytest.importorskip("matplotlib")

GAP = "x1*x2*x3 - x1*x2*x4"
BUSY = "x1*x2*x3 - x1*x2*x4 + x2*x5 + x1*x5*x6 + x6*x7"  # fan-out and in-column witness edges


def drawn(fig: Any) -> Any:
    """Draw ``fig`` at its saving dpi and return the renderer."""
    with plots._fonts():
        fig.set_dpi(150)
        fig.canvas.draw()
    return fig.canvas.get_renderer()


def undrawn_tick_labels(fig: Any) -> set[int]:
    """Tick labels matplotlib keeps but does not draw (outside the view, or axes off)."""
    out: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                outside = loc is None or not lo - 1e-9 * abs(hi) <= loc <= hi + 1e-9 * abs(hi)
                if outside or not ax.axison:
                    out.update((id(tick.label1), id(tick.label2)))
    return out


def texts(fig: Any) -> list[Any]:
    from matplotlib.text import Text

    hidden = undrawn_tick_labels(fig)
    return [
        t for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden
        and t.get_window_extent().width > 0
    ]  # fmt: skip


def assert_readable_and_apart(fig: Any) -> None:
    drawn(fig)
    found = texts(fig)
    assert found
    small = [(t.get_text(), t.get_fontsize()) for t in found if t.get_fontsize() < plots.SMALL]
    assert not small, small
    page = fig.bbox.padded(1.0)
    cut = [t.get_text() for t in found if not page.contains(*t.get_window_extent().min)
           or not page.contains(*t.get_window_extent().max)]  # fmt: skip
    assert not cut, f"text cut off at the figure's edge: {cut}"
    boxes = [(t.get_text(), t.get_window_extent().shrunk(0.98, 0.9)) for t in found]
    clashes = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
    assert not clashes, clashes


def assert_one_row_at_most_width(fig: Any) -> None:
    width, _ = fig.get_size_inches()
    assert width <= plots.WIDTH + 1e-9
    axes = [ax for ax in fig.axes if ax.get_visible()]
    bottoms = {round(ax.get_position().y0, 3) for ax in axes}
    assert len(bottoms) == 1, bottoms


def assert_legends_outside_the_panels(fig: Any) -> None:
    drawn(fig)
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for legend in legends:
        box = legend.get_window_extent()
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent()), "a legend covers a panel"


# -- the run figure -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    kw = {"d": 8, "replicas": 2, "samples": 3000, "seed": 0}
    return {
        "squared": train("x1 + x1*x2 + x1*x2*x3", **kw),
        "absolute": train(GAP, loss="absolute", stop_loss=None, **kw),
    }


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_run_figure_is_readable_one_row_with_the_legend_below(runs: Any, loss: str) -> None:
    fig = plots._run_figure(runs[loss])
    assert_one_row_at_most_width(fig)
    assert_readable_and_apart(fig)
    assert_legends_outside_the_panels(fig)


def test_a_long_target_wraps_its_title_and_keeps_the_legend_below() -> None:
    target = " + ".join(f"x{i}*x{i + 1}" for i in range(1, 13))  # 12 monomials, 4 probes
    fig = plots._run_figure(train(target, d=16, replicas=2, samples=1000, seed=0))
    assert "\n" in fig._suptitle.get_text()
    assert_readable_and_apart(fig)
    assert_legends_outside_the_panels(fig)


def test_run_title_names_the_leap_of_its_loss(runs: Any) -> None:
    absolute = plots._run_figure(runs["absolute"])._suptitle.get_text()
    assert "DLQ leap (absolute) 2" in absolute
    squared = plots._run_figure(runs["squared"])._suptitle.get_text()
    assert "leap 1" in squared
    assert "DLQ" not in squared


# -- scaling and verification -------------------------------------------------------------
@pytest.fixture(scope="module")
def verdict() -> Any:
    from csqbound.experiments.scaling import fit_scaling

    d = np.repeat([8, 16, 32, 64], 6)
    n = 3.0 * d**2 * np.exp(np.random.default_rng(0).normal(0, 0.2, d.size))
    return fit_scaling(d, n, 2, resamples=200)


def test_scaling_figure_is_readable_and_its_slopes_sit_above_the_frame(verdict: Any) -> None:
    fig = plots._scaling_figure(verdict, "x1*x2")
    assert_one_row_at_most_width(fig)
    assert_readable_and_apart(fig)
    assert_legends_outside_the_panels(fig)
    (ax,) = fig.axes
    frame = ax.get_window_extent()
    slopes = [t for t in ax.texts if t.get_text() == f"{verdict.local_slopes[0].slope:.2f}"]
    assert slopes
    for t in ax.texts:  # every direct label is off the plotting area, hence off the lines
        assert t.get_window_extent().y0 >= frame.y1 - 0.5


@pytest.fixture(scope="module")
def verification(tmp_path_factory: Any) -> Any:
    from csqbound.experiments.verify import verify

    folder = tmp_path_factory.mktemp("verify")
    return verify("x1", ds=[8, 16, 32, 64], seeds=4, settings={"replicas": 2, "samples": 20_000},
                  store=folder / "s.sqlite", workers=1, resamples=100)  # fmt: skip


def test_verification_figure_is_readable_one_row_with_the_legend_below(verification: Any) -> None:
    fig = plots._verification_figure(verification, "x1")
    assert_one_row_at_most_width(fig)
    assert_readable_and_apart(fig)
    assert_legends_outside_the_panels(fig)


# -- the support graph --------------------------------------------------------------------
def support(text: str) -> Any:
    fig = plots._support_figure(SupportGraph.build(expand(text)))
    drawn(fig)
    return fig


def nodes(fig: Any, kind: str) -> list[Any]:
    return [t for t in texts(fig) if (t.get_gid() or "").startswith(kind + ":")]


def display_path(arrow: Any) -> Any:
    """The drawn path of an arrow (line and head) in display pixels."""
    return arrow.get_transform().transform_path(arrow.get_path())


def drawn_points(arrow: Any) -> Any:
    """Points about one pixel apart along the drawn arrow (its curves flattened)."""
    verts = np.concatenate(display_path(arrow).to_polygons(closed_only=False))
    steps = [
        np.linspace(a, b, max(int(np.hypot(*(b - a))), 2)) for a, b in itertools.pairwise(verts)
    ]
    return np.concatenate(steps)


def arrows(fig: Any) -> list[Any]:
    from matplotlib.patches import FancyArrowPatch

    return [p for p in fig.findobj(FancyArrowPatch) if (p.get_gid() or "").startswith("witness:")]


@pytest.mark.parametrize("text", [BUSY, "x1 + x1*x2 + x1*x2*x3", "x1*x2*x3*x4*x5 + x1*x6"])
def test_support_graph_text_is_readable_and_apart(text: str) -> None:
    assert_readable_and_apart(support(text))


def test_support_graph_node_kinds_differ_in_shape_and_colour() -> None:
    fig = support(BUSY)
    monos, coords = nodes(fig, "monomial"), nodes(fig, "coordinate")
    assert len(monos) == 5
    assert len(coords) == 7

    def look(t: Any) -> tuple[str, tuple[float, ...], tuple[float, ...]]:
        patch = t.get_bbox_patch()
        return type(patch.get_boxstyle()).__name__, patch.get_facecolor(), patch.get_edgecolor()

    mono_looks, coord_looks = {look(t) for t in monos}, {look(t) for t in coords}
    assert len(mono_looks) == len(coord_looks) == 1
    (m_shape, m_face, m_edge), (c_shape, c_face, c_edge) = *mono_looks, *coord_looks
    assert m_shape != c_shape
    assert m_face != c_face
    assert m_edge != c_edge


def test_support_graph_arrowheads_are_visible_at_the_node_borders() -> None:
    fig = support(BUSY)
    graph = SupportGraph.build(expand(BUSY)).graph
    witness = [(u, v) for u, v, k in graph.edges(data="kind") if k == "witness"]
    found = arrows(fig)
    assert len(found) == len(witness) >= 6
    boxes = {t.get_gid(): t.get_bbox_patch().get_window_extent() for t in texts(fig) if t.get_gid()}
    for arrow in found:
        assert type(arrow.get_arrowstyle()).__name__ == "CurveFilledB"  # "-|>": a filled head
        assert arrow.get_mutation_scale() >= 12
        path = display_path(arrow).vertices
        _, target = arrow.get_gid().removeprefix("witness:").split("->")
        box = boxes[f"monomial:{target}"]
        # the head ends at the target's border: outside its box, within a few pixels of it
        gap = [max(box.x0 - x, x - box.x1, box.y0 - y, y - box.y1) for x, y in path]
        assert min(gap) > -1.0, "an arrowhead hides inside its node"
        assert min(gap) < 8.0, "an arrowhead stops short of its node"  # 8 px = 4 pt at 150 dpi


def test_support_graph_witness_arcs_do_not_run_on_top_of_each_other() -> None:
    fig = support(BUSY)
    polylines = [drawn_points(arrow) for arrow in arrows(fig)]
    for a, b in itertools.combinations(polylines, 2):
        close = np.min(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)), axis=1) < 2.0
        assert close.mean() < 0.2, f"{close.mean():.0%} of one witness arc lies on another"


def test_support_graph_writes_png_svg_and_pdf(tmp_path: Path) -> None:
    g = SupportGraph.build(expand(BUSY))
    for suffix in (".png", ".svg", ".pdf"):
        assert plots.plot_support_graph(g, tmp_path / f"g{suffix}").stat().st_size > 0


@pytest.mark.parametrize(
    "text", [BUSY, "x1 + x1*x2 + x1*x2*x3", "x1 + x1*x2 + x1*x2*x3 + x1*x2*x3*x4"]
)
def test_support_graph_witness_arcs_pass_beside_the_monomials_they_skip(text: str) -> None:
    fig = support(text)
    boxes = {t.get_gid(): t.get_bbox_patch().get_window_extent() for t in nodes(fig, "monomial")}
    for arrow in arrows(fig):
        ends = {f"monomial:{name}" for name in arrow.get_gid().removeprefix("witness:").split("->")}
        path = drawn_points(arrow)
        for gid, box in boxes.items():
            if gid not in ends:
                inside = [box.contains(x, y) for x, y in path]
                assert not any(inside), f"{arrow.get_gid()} runs under {gid}"
