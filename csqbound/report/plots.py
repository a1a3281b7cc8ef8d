"""matplotlib figures: SGD runs, scaling fits, verification, the support graph.

:func:`plot_support_graph` draws a :class:`~csqbound.support.SupportGraph` by stage.
:func:`plot_run` draws a :class:`~csqbound.sgd.train.Run`: the test loss with
its plateaus on the left, the coefficient paths of the target's monomials with
their learning times and predicted stages on the right. Figures are built on
matplotlib's Agg canvas directly (no pyplot, no global backend state), so
drawing works without a display and does not disturb a caller's own matplotlib
setup. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from csqbound.errors import CsqboundError
from csqbound.report.files import save_figure

if TYPE_CHECKING:
    from csqbound.experiments.scaling import Verdict
    from csqbound.experiments.selection import Selection
    from csqbound.experiments.verify import Verification
    from csqbound.leaps import LeapResult
    from csqbound.sgd.train import Run
    from csqbound.support import SupportGraph

#: Font size (points) of every text in the verification figure: readable at full width.
FONT = 9

__all__ = [
    "FORMATS",
    "check_figure_path",
    "plot_run",
    "plot_scaling",
    "plot_support_graph",
    "plot_verification",
]

#: File suffixes a figure can be written to (:func:`check_figure_path`).
FORMATS: tuple[str, ...] = (".png", ".pdf", ".svg")


def _finite_median(rows: np.ndarray) -> np.ndarray:
    """Median over the rows, ignoring NaN (NaN where a column has no finite value)."""
    out = np.full(rows.shape[1], np.nan)
    for j in range(rows.shape[1]):
        col = rows[:, j]
        col = col[np.isfinite(col)]
        if col.size:
            out[j] = float(np.median(col))
    return out


def plot_run(run: Run, path: str | Path, *, dpi: int = 120) -> Path:
    """Draw a run: loss with plateaus (left), coefficient paths with learning times (right).

    Left: the relative test loss ``MSE / Var f`` against samples per replica on
    log–log axes, each replica faint (up to where it stopped), the median over
    replicas bold; plateaus of the median curve shaded grey, drops light blue;
    the stopping threshold dashed. Right: the median coefficient path of every
    target monomial, labelled by its predicted stage (``"stage j: x1*x2"``) and
    coloured along the leap's witness order, the target's coefficient dotted,
    the median learning time marked by a vertical line and a dot; probe
    monomials grey and dashed.

    Parameters
    ----------
    run
        The result of :func:`csqbound.sgd.train.train`.
    path
        Output file; its suffix chooses the format (``.png``, ``.pdf``, ``.svg``).
    dpi
        Resolution of raster output.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CsqboundError
        For an unsupported suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from csqbound.sgd.train import train
    >>> run = train("x1 + x1*x2", d=8, replicas=2, samples=2000)
    >>> out = plot_run(run, pathlib.Path(tempfile.mkdtemp()) / "run.png")
    >>> out.suffix, out.stat().st_size > 0
    ('.png', True)
    """
    out = check_figure_path(path, folder_must_exist=False)
    fig = _figure((12.5, 4.8))
    ax_loss, ax_coef = fig.subplots(1, 2)
    n = np.asarray(run.eval_samples, dtype=float)
    shown = n > 0
    _draw_loss(ax_loss, run, n, shown)
    _draw_coefficients(ax_coef, run, n, shown)
    title = f"{run.target}  ({run.domain}, d = {run.settings.get('d')}"
    if run.leap is not None:
        title += f", leap {run.leap}"
    loss = run.settings.get("loss") or "squared"
    if loss != "squared":
        title += f", {loss} loss"
    title += f", {run.replicas} replicas, {run.backend})"
    fig.suptitle(title, parse_math=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out, dpi=dpi)
    return out


def check_figure_path(
    path: str | Path, *, folder_must_exist: bool = True, action: str = "write a figure to"
) -> Path:
    """The path of a figure, checked before any work: its suffix and (optionally) its folder.

    The one check behind every figure csqbound writes (``--plot``, ``csqbound
    graph``, the report's figures); ``action`` starts the message ("plot to").

    Raises
    ------
    CsqboundError
        For a suffix other than ``.png``, ``.pdf`` or ``.svg``, a folder, or a missing or
        unwritable folder (a read-only file system: found before a run, not after it).

    Examples
    --------
    >>> check_figure_path("loss.svg")
    PosixPath('loss.svg')
    >>> check_figure_path("loss.jpg")
    Traceback (most recent call last):
    ...
    csqbound.errors.CsqboundError: cannot write a figure to 'loss.jpg': the file name must ...
    """
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        got = f"a name ending in {out.suffix!r}" if out.suffix else "a name without a suffix"
        msg = (
            f"cannot {action} {str(path)!r}: the file name must end in .png, .pdf or .svg, "
            f"not {got}"
        )
        raise CsqboundError(msg)
    if out.is_dir():
        msg = f"cannot {action} {str(path)!r}: it is a folder (name a file, e.g. run.png)"
        raise CsqboundError(msg)
    folder = out.parent if str(out.parent) else Path(".")
    if folder_must_exist and not folder.is_dir():
        msg = f"cannot {action} {str(path)!r}: the folder {str(folder)!r} does not exist"
        raise CsqboundError(msg)
    if folder.is_dir() and not os.access(folder, os.W_OK):
        msg = f"cannot {action} {str(path)!r}: the folder {str(folder)!r} is not writable"
        raise CsqboundError(msg)
    return out


def _figure(size: tuple[float, float]) -> Any:
    """A matplotlib Figure on its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_scaling(verdict: Verdict, path: str | Path, *, title: str = "", dpi: int = 120) -> Path:
    """Draw samples-to-learn against ``d`` (log–log) with the fit, its band and the prediction.

    Every point is one replica; censored points (budget exhausted) are drawn as
    open triangles at the top of the axis and counted in the legend, never as if
    they had learned. The medians are joined, the fitted slope over
    ``verdict.d_range_fit`` is drawn with its bootstrap band (the lines of the
    interval's two slopes through the same centre), and the predicted slope is
    drawn through the same centre, dashed. Local slopes between neighbouring
    ``d`` are written next to the median line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from csqbound.experiments.scaling import fit_scaling
    >>> d = np.repeat([8, 16, 32, 64], 6)
    >>> n = 3.0 * d**2 * np.exp(np.random.default_rng(0).normal(0, 0.2, d.size))
    >>> v = fit_scaling(d, n, 2, resamples=200)
    >>> out = plot_scaling(v, pathlib.Path(tempfile.mkdtemp()) / "scaling.png")
    >>> out.stat().st_size > 0
    True
    """
    out = check_figure_path(path, folder_must_exist=False)
    fig = _figure((6.4, 4.8))
    ax = fig.subplots()

    # a d log d prediction is fitted on n / log d: draw what was fitted
    def per(d: int) -> float:
        return math.log(d) if verdict.divided_by_log else 1.0

    ds = [d for d in verdict.ds if verdict.samples_to_learn.get(d)]
    learned = [(d, p / per(d)) for d in ds for p in verdict.samples_to_learn[d] if p is not None]
    n_censored = sum(verdict.censored.get(d, 0) for d in verdict.ds)
    top = max([p for _, p in learned], default=1.0)
    if learned:
        xs, ys = zip(*learned, strict=True)
        ax.scatter(xs, ys, s=12, alpha=0.35, color="tab:blue", label="one replica")
    censored_d = [d for d in verdict.ds for _ in range(verdict.censored.get(d, 0))]
    if censored_d:
        ax.scatter(
            censored_d,
            [top * 1.6] * len(censored_d),
            marker="^",
            facecolors="none",
            edgecolors="tab:red",
            label=f"censored (budget): {n_censored}",
        )
    med = [
        (d, verdict.medians[d] / per(d))
        for d in verdict.ds
        if math.isfinite(verdict.medians[d]) and per(d) > 0
    ]
    medd = dict(med)
    if med:
        mx, my = zip(*med, strict=True)
        ax.plot(mx, my, "o-", color="tab:blue", lw=1.5, label="median")
        for ls in verdict.local_slopes:
            if ls.d_lo in medd and ls.d_hi in medd:
                xm = math.sqrt(ls.d_lo * ls.d_hi)
                ym = math.sqrt(medd[ls.d_lo] * medd[ls.d_hi])
                ax.annotate(
                    f"{ls.slope:.2f}",
                    (xm, ym),
                    textcoords="offset points",
                    xytext=(4, -12),
                    fontsize=8,
                    color="tab:blue",
                )
    if verdict.slope is not None and verdict.d_range_fit is not None:
        lo, hi = verdict.d_range_fit
        fit_ds = [d for d, _ in med if lo <= d <= hi]
        if fit_ds:
            dc = math.exp(np.mean(np.log(fit_ds)))
            mc = math.exp(np.mean([math.log(medd[d]) for d in fit_ds]))
            grid = np.geomspace(min(verdict.ds), max(verdict.ds), 50)
            line = mc * (grid / dc) ** verdict.slope
            ax.plot(grid, line, color="tab:orange", lw=2, label=f"fit slope {verdict.slope:.2f}")
            if verdict.ci is not None and all(math.isfinite(c) for c in verdict.ci):
                a, b = (mc * (grid / dc) ** c for c in verdict.ci)
                ax.fill_between(
                    grid,
                    np.minimum(a, b),
                    np.maximum(a, b),
                    color="tab:orange",
                    alpha=0.2,
                    label=f"{verdict.level:.0%} CI [{verdict.ci[0]:.2f}, {verdict.ci[1]:.2f}]",
                )
            pred = mc * (grid / dc) ** verdict.predicted_exponent
            ax.plot(
                grid,
                pred,
                "k--",
                lw=1.2,
                label=f"predicted slope {verdict.predicted_exponent:g}",
            )
            ax.axvspan(lo, hi, color="0.9", zorder=0, label=f"fit range d = {lo}..{hi}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("d")
    ax.set_ylabel(f"{verdict.label} (samples per replica)")
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(list(verdict.ds)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([str(d) for d in verdict.ds])
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(
        f"{title}  verdict: {verdict.verdict}" if title else f"verdict: {verdict.verdict}",
        parse_math=False,  # user names may hold $ signs
    )
    ax.grid(True, which="both", alpha=0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out, dpi=dpi)
    return out


def _draw_loss(ax: Any, run: Run, n: np.ndarray, shown: np.ndarray) -> None:
    rel = run.relative_loss
    for r in range(run.replicas):
        keep = shown & (n <= run.samples_seen[r]) & np.isfinite(rel[r])
        if keep.any():
            ax.plot(n[keep], rel[r, keep], color="tab:blue", alpha=0.25, lw=0.8)
    median = run.median_loss()
    keep = shown & np.isfinite(median) & (median > 0)
    if keep.any():
        ax.plot(n[keep], median[keep], color="tab:blue", lw=2.2, label="median over replicas")
    for seg in run.median_plateaus():
        color = "0.5" if seg.kind == "plateau" else "tab:cyan"
        ax.axvspan(seg.start, seg.stop, color=color, alpha=0.15, lw=0)
    ax.axvspan(math.nan, math.nan, color="0.5", alpha=0.15, lw=0, label="plateau")
    ax.axvspan(math.nan, math.nan, color="tab:cyan", alpha=0.15, lw=0, label="drop")
    stop = run.settings.get("stop_loss")
    if stop:
        ax.axhline(stop, color="k", ls="--", lw=0.8, label=f"stop at {stop:g} Var f")
    for r, at in enumerate(run.diverged_at):
        if at:
            ax.axvline(at, color="tab:red", lw=0.8, alpha=0.6, label="diverged" if r == 0 else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples per replica")
    ax.set_ylabel("test loss / Var f")
    ax.set_title("test loss")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")


def _draw_coefficients(ax: Any, run: Run, n: np.ndarray, shown: np.ndarray) -> None:
    from matplotlib import colormaps

    stages = run.predicted_stages
    stage_of = {m: j for j, stage in enumerate(stages) for m in stage}
    witness = [m for stage in stages for m in stage]
    cmap = colormaps["viridis"]
    times = run.median_learning_times()
    ok = [r for r, s in enumerate(run.status) if s != "diverged"]
    order = witness + sorted(
        m for m in run.coefficients if m not in run.probes and m not in stage_of
    )
    span = max(len(order) - 1, 1)
    for name in order:
        j = stage_of.get(name)
        color = cmap(0.9 * order.index(name) / span)
        rows = run.coefficients[name][ok] if ok else run.coefficients[name]
        path = _finite_median(rows)
        label = f"stage {j + 1}: {name}" if j is not None else name
        ax.plot(n[shown], path[shown], color=color, lw=2, label=label)
        target = run.target_coefficients[name]
        ax.axhline(target, color=color, ls=":", lw=1)
        t = times.get(name)
        if t:
            ax.axvline(t, color=color, lw=0.8, alpha=0.7)
            ax.plot([t], [0.5 * target], "o", color=color, ms=5)
    for name in run.probes:
        rows = run.coefficients[name][ok] if ok else run.coefficients[name]
        ax.plot(n[shown], _finite_median(rows)[shown], color="0.55", ls="--", lw=0.9,
                label=f"probe: {name}")  # fmt: skip
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("samples per replica")
    ax.set_ylabel("coefficient (median over replicas)")
    ax.set_title("coefficients; dot and line: median learning time")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncol=1 if len(order) < 8 else 2)


def _law_fit(sel: Selection, k: float) -> tuple[float, float] | None:
    """``(c, q)`` of the weighted fit ``log n = c + k log d + q log log d`` over the usable d."""
    q = sel.q_fits.get(k)
    ds = [d for d in sel.usable if math.isfinite(sel.medians.get(d, math.nan))]
    if q is None or not ds:
        return None
    w = np.array([sel.weights.get(d, 1.0) for d in ds])
    ld = np.log(np.array(ds, dtype=np.float64))
    resid = np.log([sel.medians[d] for d in ds]) - k * ld - q * np.log(ld)
    return float(np.sum(w * resid) / np.sum(w)), float(q)


def _draw_observable(ax: Any, sel: Selection, color: str, name: str, marker: str) -> None:
    """Medians of one observable against d, with the winning law over its fitted range."""
    med = [(d, sel.medians[d]) for d in sel.ds if math.isfinite(sel.medians.get(d, math.nan))]
    if not med:
        return
    xs, ys = zip(*med, strict=True)
    ax.plot(xs, ys, marker=marker, ls="none", color=color, ms=6, label=f"{name} (median)")
    k = sel.best_k
    fit = None if k is None else _law_fit(sel, k)
    if fit is not None and sel.d_range is not None and k is not None:
        lo, hi = sel.d_range
        grid = np.geomspace(lo, hi, 40)
        line = np.exp(fit[0] + k * np.log(grid) + fit[1] * np.log(np.log(grid)))
        ax.plot(grid, line, color=color, lw=1.5, label=f"best law d^{k:g} log^{fit[1]:.2f} d")


def _draw_slopes(ax: Any, result: Verification) -> None:
    """Local slopes of the stage end (with intervals) against d, and the predicted slope."""
    sel = result.selection
    k0, q0 = result.conjecture.exponent, result.conjecture.log_power
    for i, s in enumerate(sel.local_slopes):
        x = math.sqrt(s.d_lo * s.d_hi)
        lo, hi = s.ci
        err = [[max(s.slope - lo, 0.0) if math.isfinite(lo) else 0.0],
               [max(hi - s.slope, 0.0) if math.isfinite(hi) else 0.0]]  # fmt: skip
        ax.errorbar([x], [s.slope], yerr=err, fmt="o", color="tab:blue", capsize=3,
                    label="stage end, local slope (95% CI)" if i == 0 else None)  # fmt: skip
    for i, s in enumerate(result.side["loss_0.2"].local_slopes):
        ax.plot([math.sqrt(s.d_lo * s.d_hi) * 1.04], [s.slope], "s", color="tab:green", ms=5,
                label="loss 0.2 Var f, local slope" if i == 0 else None)  # fmt: skip
    if sel.ds:
        grid = np.geomspace(min(sel.ds), max(sel.ds), 40)
        ax.plot(grid, k0 + q0 / np.log(grid), "k--", lw=1.2,
                label=f"predicted {result.conjecture.label}: {k0:g} + {q0:g}/log d")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("d", fontsize=FONT)
    ax.set_ylabel("local slope d log n / d log d", fontsize=FONT)


def _d_ticks(ax: Any, ds: tuple[int, ...]) -> None:
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(list(ds)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([str(d) for d in ds])
    ax.tick_params(labelsize=FONT)
    ax.grid(True, which="both", alpha=0.3)


def evidence(result: Verification) -> str:
    """One sentence with the verdict and its evidence (for a title or a caption).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> sel = NS(verdict="agree", best_k=1.0, k0=1.0, shares={1.0: 0.99}, q_at_k0=1.2,
    ...          resamples=2000, d_range=(64, 512), trend_away=False)
    >>> text = evidence(NS(selection=sel, conjecture=NS(label="d log d", log_power=1.0),
    ...                    robust=True))
    >>> text[:60]
    'd log d: agree; k = 1 wins 99% of 2000 seed resamples (best '
    >>> text[60:]
    'k 1), q = 1.20 vs 1, d = 64..512, robust'
    """
    sel = result.selection
    share = sel.shares.get(sel.k0, 0.0)
    best = "-" if sel.best_k is None else f"{sel.best_k:g}"
    q = "-" if sel.q_at_k0 is None else f"{sel.q_at_k0:.2f}"
    rng = "-" if sel.d_range is None else f"{sel.d_range[0]}..{sel.d_range[1]}"
    extra = ["robust" if result.robust else "not robust (loss 0.2 differs)"]
    if sel.trend_away:
        extra.append("local slopes trend away")
    return (
        f"{result.conjecture.label}: {sel.verdict}; k = {sel.k0:g} wins {share:.0%} of "
        f"{sel.resamples} seed resamples (best k {best}), q = {q} vs "
        f"{result.conjecture.log_power:g}, d = {rng}, {', '.join(extra)}"
    )


def plot_verification(
    result: Verification, path: str | Path, *, title: str = "", dpi: int = 150
) -> Path:
    """Draw a verification: the observables against d with their laws, and the local slopes.

    Left: the medians of the end of the hardest stage and of the loss-threshold
    times (0.2 and 0.05 Var f) against ``d`` on log-log axes, each with the law
    that won its model selection drawn over its fitted range only. Right: the local
    slopes of the stage end with their seed-bootstrap intervals (and those of the
    loss at 0.2 Var f), against the finite-``d`` slope of the prediction,
    ``k0 + q0 / log d``. The title says the verdict and its evidence; all text is
    :data:`FONT` points at the figure's size (7 x 3.3 inches).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from csqbound.experiments.verify import verify
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> v = verify("x1", ds=[8, 16, 32, 64], seeds=4, settings={"replicas": 2,
    ...            "samples": 20_000}, store=folder / "s.sqlite", workers=1, resamples=100)
    >>> plot_verification(v, folder / "v.png").stat().st_size > 0
    True
    """
    out = check_figure_path(path, folder_must_exist=False)
    fig = _figure((7.0, 3.3))
    left, right = fig.subplots(1, 2)
    _draw_observable(left, result.selection, "tab:blue", "stage end", "o")
    _draw_observable(left, result.side["loss_0.2"], "tab:green", "loss 0.2 Var f", "s")
    _draw_observable(left, result.side["loss_0.05"], "tab:gray", "loss 0.05 Var f", "^")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("d", fontsize=FONT)
    left.set_ylabel("samples per replica", fontsize=FONT)
    left.legend(fontsize=FONT - 1, loc="upper left")
    _d_ticks(left, result.ds)
    _draw_slopes(right, result)
    right.legend(fontsize=FONT - 1, loc="best")
    _d_ticks(right, result.ds)
    import textwrap

    head = f"{title}: " if title else ""
    text = "\n".join(textwrap.wrap(head + evidence(result), width=105))
    fig.suptitle(text, fontsize=FONT, parse_math=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out, dpi=dpi)
    return out


# ---------------------------------------------------------------------------
# the support graph
# ---------------------------------------------------------------------------
def plot_support_graph(graph: SupportGraph, path: str | Path) -> Path:
    """Draw a support graph, stages left to right, to a ``.png``, ``.svg`` or ``.pdf`` file.

    Each stage is a column of monomials (in witness order, top to bottom)
    with a column beside it for the coordinates first covered there.
    Incidence edges are thin grey lines; witness edges are dashed red arrows.
    Drawing uses matplotlib's object-oriented API with an Agg canvas, so it
    works without a display and leaves pyplot's backend alone.

    Parameters
    ----------
    graph
        A :class:`~csqbound.support.SupportGraph`.
    path
        Output file; its suffix picks the format. Its folder must exist.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    CsqboundError
        The suffix is not ``.png``, ``.svg`` or ``.pdf``, or the folder does not exist.

    See Also
    --------
    csqbound.support.SupportGraph.build : the graph.
    networkx.drawing.nx_pylab.draw_networkx : networkx's own (unstaged) drawing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from csqbound.support import SupportGraph
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     g = SupportGraph.build([{1}, {1, 2, 3}])
    ...     out = plot_support_graph(g, pathlib.Path(tmp) / "g.svg")
    ...     (out.name, out.stat().st_size > 0)
    ('g.svg', True)
    """
    out = check_figure_path(path, action="draw to")
    result = graph.leap
    style = _SupportStyle.of(result)
    fig, ax = _support_axes(result, style)
    pos = _support_positions(result)
    _draw_support_edges(ax, graph, pos, style)
    _draw_support_nodes(ax, graph, pos, style)
    _draw_support_frame(ax, graph, style)
    fig.tight_layout()
    return save_figure(fig, out, dpi=150)  # atomic; a full disk is one input error


class _SupportStyle:
    """Sizes of a support drawing, from the number of monomials and stages."""

    #: Width of a stage: monomial column at ``COLUMN * s``, coordinates at ``+ 1.4``.
    COLUMN = 3.0

    def __init__(self, n_mono: int, height: int, n_stages: int) -> None:
        self.n_mono = n_mono
        self.font = 9.0 if n_mono <= 30 else max(4.0, 9.0 * math.sqrt(30 / n_mono))
        self.scale = self.font / 9.0
        self.height = height
        self.n_stages = n_stages

    @classmethod
    def of(cls, result: LeapResult) -> _SupportStyle:
        rows = {}
        for s, stage in enumerate(result.stages):
            coords = [c for c, t in result.stage_of.items() if t == s]
            rows[s] = max(len(stage), len(coords), 1)
        height = max(rows.values(), default=1)
        return cls(len(result.order), height, max(len(result.stages), 1))


def _support_axes(result: LeapResult, style: _SupportStyle) -> tuple[Any, Any]:
    """A figure sized to the stages, on its own Agg canvas, with bare axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(
        figsize=(
            max(5.0, 2.2 * style.n_stages * style.scale + 1.5),
            max(3.0, 0.45 * style.height * style.scale + 1.8),
        )
    )
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    return fig, ax


def _support_positions(result: LeapResult) -> dict[tuple[str, object], tuple[float, float]]:
    """Where each node goes: monomials by stage and witness order, coordinates beside them."""
    col = _SupportStyle.COLUMN
    pos: dict[tuple[str, object], tuple[float, float]] = {}
    for s, stage in enumerate(result.stages):
        for r, mono in enumerate(stage):
            pos[("m", str(mono))] = (col * s, -float(r))
    covered_in: dict[int, list[int]] = {}
    for coordinate in result.first_cover:  # insertion order = order of first cover
        covered_in.setdefault(result.stage_of[coordinate], []).append(coordinate)
    for s, coords in covered_in.items():
        for r, coordinate in enumerate(coords):
            pos[("x", coordinate)] = (col * s + 1.4, -float(r))
    return pos


def _draw_support_edges(
    ax: Any, graph: SupportGraph, pos: dict[Any, tuple[float, float]], style: _SupportStyle
) -> None:
    """Incidence edges as grey lines (width: degree), witness edges as dashed red arcs."""
    from matplotlib.patches import FancyArrowPatch

    for u, v, data in graph.graph.edges(data=True):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        # bulge of a witness arc ~ rad * length: keep it under a column's width
        rad = min(0.35, 1.0 / max(math.hypot(x1 - x0, y1 - y0), 1e-9))
        if data["kind"] == "incidence":
            ax.plot([x0, x1], [y0, y1], color="0.75", lw=0.6 + 0.4 * data["weight"], zorder=1)
            continue
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                connectionstyle=f"arc3,rad={rad:.3f}",
                arrowstyle="-|>",
                mutation_scale=8 + 4 * style.scale,
                color="tab:red",
                linestyle="--",
                lw=1.0,
                alpha=1.0 if style.n_mono <= 30 else 0.5,
                shrinkA=9 * style.scale,
                shrinkB=9 * style.scale,
                zorder=2,
            )
        )


def _draw_support_nodes(
    ax: Any, graph: SupportGraph, pos: dict[Any, tuple[float, float]], style: _SupportStyle
) -> None:
    """Monomials (with the cost of their step) and coordinates as labelled boxes."""
    box = {"boxstyle": "round,pad=0.25", "lw": 0.6}
    for node, data in graph.graph.nodes(data=True):
        x, y = pos[node]
        if data["kind"] == "monomial":
            label = f"{data['monomial']}  [{data['jump']}]"
            face = "#dbe9f6"
        else:
            label = f"x{data['coordinate']}"
            face = "#f6ecd5"
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=style.font,
            bbox={**box, "fc": face, "ec": "0.4"},
            zorder=3,
        )


def _draw_support_frame(ax: Any, graph: SupportGraph, style: _SupportStyle) -> None:
    """Stage headings, limits, the legend and the title."""
    from matplotlib.lines import Line2D

    result, col, font = graph.leap, _SupportStyle.COLUMN, style.font
    for s, jump in enumerate(result.stage_jumps()):
        ax.text(
            col * s + 0.7,
            0.9,
            f"stage {s + 1} (jump {jump})",
            ha="center",
            va="bottom",
            fontsize=font + 1,
            fontweight="bold",
        )
    ax.set_xlim(-1.8, col * (style.n_stages - 1) + 2.6)
    ax.set_ylim(-(style.height - 1) - 0.8, 1.6)
    ax.legend(
        handles=[
            Line2D([], [], color="0.75", lw=1.0, label="uses coordinate (width: degree)"),
            Line2D([], [], color="tab:red", ls="--", lw=1.0, label="witness: builds on"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        fontsize=max(font - 1, 4),
        frameon=False,
    )
    title = (
        f"leap {result.leap}"
        + (" (MSP)" if result.msp and result.order else "")
        + f" - {graph.expansion_domain}, {style.n_mono} monomials"
        + "\n[k] after a monomial: cost of its step"
    )
    ax.set_title(title, fontsize=font + 2)
