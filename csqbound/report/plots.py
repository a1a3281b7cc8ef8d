"""matplotlib figures: SGD runs, scaling fits, verification, the support graph.

:func:`plot_run` draws a :class:`~csqbound.sgd.train.Run`: the test loss with
its plateaus on the left, the coefficient paths of the target's monomials with
their learning times and predicted stages on the right.
:func:`plot_scaling` and :func:`plot_verification` draw samples to learn against
``d``; :func:`plot_support_graph` draws a :class:`~csqbound.support.SupportGraph`
by stage.

Every figure is one row of panels, saved at the size a paper includes it
(:data:`WIDTH` inches wide, the text width of a landscape report page and a bit
more than a portrait one's), with every text at least :data:`SMALL` points at
that size; legends sit outside the axes, below them, so no label covers a line.
Figures are built on matplotlib's Agg canvas directly (no pyplot, no global
backend state), so drawing works without a display and does not disturb a
caller's own matplotlib setup; the font sizes are set through a
``matplotlib.rc_context`` that ends with the drawing. matplotlib is imported only
when a figure is drawn.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

__all__ = [
    "FONT",
    "FORMATS",
    "SMALL",
    "WIDTH",
    "check_figure_path",
    "evidence",
    "plot_run",
    "plot_scaling",
    "plot_support_graph",
    "plot_verification",
    "run_title",
]

#: Font size (points) of titles and axis labels, at the saved size.
FONT = 9
#: Font size (points) of tick labels and legends: the smallest text of any figure.
SMALL = 8
#: Width (inches) of a figure with two panels; one panel is :data:`WIDTH` ``* 0.62``.
WIDTH = 7.0

#: File suffixes a figure can be written to (:func:`check_figure_path`).
FORMATS: tuple[str, ...] = (".png", ".pdf", ".svg")


@contextmanager
def _fonts() -> Iterator[None]:
    """matplotlib's font sizes of csqbound's figures, for the time of one drawing."""
    import matplotlib as mpl

    sizes: dict[Any, Any] = {
        "font.size": FONT,
        "axes.titlesize": FONT,
        "axes.labelsize": FONT,
        "figure.titlesize": FONT,
        "xtick.labelsize": SMALL,
        "ytick.labelsize": SMALL,
        "legend.fontsize": SMALL,
        "legend.title_fontsize": SMALL,
    }
    with mpl.rc_context(sizes):
        yield


def _finite_median(rows: np.ndarray) -> np.ndarray:
    """Median over the rows, ignoring NaN (NaN where a column has no finite value)."""
    out = np.full(rows.shape[1], np.nan)
    for j in range(rows.shape[1]):
        col = rows[:, j]
        col = col[np.isfinite(col)]
        if col.size:
            out[j] = float(np.median(col))
    return out


def _figure(width: float, height: float, layout: Any = "constrained") -> Any:
    """A matplotlib Figure on its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _legend_below(fig: Any, axes: list[Any], *, ncol: int) -> None:
    """One legend for ``axes`` (labels deduplicated), below them, outside every panel."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=ncol,
                   frameon=False, fontsize=SMALL)  # fmt: skip


def _legend_rows(entries: int, ncol: int) -> int:
    return max(1, math.ceil(entries / ncol))


def _wrapped(text: str, width: float) -> str:
    """``text`` wrapped to lines that fit ``width`` inches at :data:`FONT` points."""
    # 0.62 em a character: DejaVu Sans's widest run of digits, letters and '*'
    return "\n".join(textwrap.wrap(text, width=max(int(width * 72 / (0.62 * FONT)), 20)))


def _log_d_axis(ax: Any, ds: tuple[int, ...] | list[int]) -> None:
    """A log x axis with one labelled tick per ``d`` and no minor labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(ds)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([str(d) for d in ds])
    ax.tick_params(labelsize=SMALL)
    ax.grid(True, which="both", alpha=0.3)


def plot_run(run: Run, path: str | Path, *, dpi: int = 150) -> Path:
    """Draw a run: loss with plateaus (left), coefficient paths with learning times (right).

    Left: the relative test loss ``MSE / Var f`` against samples per replica on
    log–log axes, each replica faint (up to where it stopped), the median over
    replicas bold; plateaus of the median curve shaded grey, drops light blue;
    the stopping threshold dashed. Right: the median coefficient path of every
    target monomial, labelled by its predicted stage (``"stage j: x1*x2"``) and
    coloured along the witness order, the target's coefficient dotted, the median
    learning time marked by a vertical line and a dot; probe monomials grey and
    dashed. The stages and the leap in the title are those of the leap that
    predicts SGD under the run's loss (``"DLQ leap (absolute) 2"`` for the
    absolute loss on boolean data, :func:`csqbound.prediction.loss_leap`). One row,
    :data:`WIDTH` inches wide, the legend below the panels.

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
    with _fonts():
        fig = _run_figure(run)
        out.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, out, dpi=dpi)
    return out


def run_title(run: Run) -> str:
    """The title of a run's figure: target, domain, d, the leap that predicts its loss, ...

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> run = NS(target="x1*x2*x3 - x1*x2*x4", domain="boolean", leap=2, replicas=4,
    ...          backend="numpy", settings={"d": 16, "loss": "absolute"})
    >>> run_title(run)
    'x1*x2*x3 - x1*x2*x4  (boolean, d = 16, DLQ leap (absolute) 2, 4 replicas, numpy)'
    >>> run_title(NS(**{**vars(run), "leap": 3, "settings": {"d": 16}}))
    'x1*x2*x3 - x1*x2*x4  (boolean, d = 16, leap 3, 4 replicas, numpy)'
    """
    loss = run.settings.get("loss") or "squared"
    parts = [run.domain, f"d = {run.settings.get('d')}"]
    if run.leap is not None and loss != "squared" and run.domain == "boolean":
        parts.append(f"DLQ leap ({loss}) {run.leap}")
    elif run.leap is not None:
        parts.append(f"leap {run.leap}")
    if loss != "squared" and run.domain != "boolean":
        parts.append(f"{loss} loss (no DLQ leap on gaussian data)")
    parts += [f"{run.replicas} replicas", str(run.backend)]
    return f"{run.target}  ({', '.join(parts)})"


def _run_figure(run: Run) -> Any:
    """The Figure of :func:`plot_run` (unsaved)."""
    with _fonts():
        entries = 4 + len(run.coefficients) + bool(run.settings.get("stop_loss"))
        ncol = 4
        fig = _figure(WIDTH, 2.9 + 0.17 * _legend_rows(entries, ncol))
        ax_loss, ax_coef = fig.subplots(1, 2)
        n = np.asarray(run.eval_samples, dtype=float)
        shown = n > 0
        _draw_loss(ax_loss, run, n, shown)
        _draw_coefficients(ax_coef, run, n, shown)
        _legend_below(fig, [ax_loss, ax_coef], ncol=ncol)
        fig.suptitle(_wrapped(run_title(run), WIDTH), parse_math=False)
        return fig


def _draw_loss(ax: Any, run: Run, n: np.ndarray, shown: np.ndarray) -> None:
    """Left panel: every replica's relative test loss, the median, plateaus and drops."""
    rel = run.relative_loss
    for r in range(run.replicas):
        keep = shown & (n <= run.samples_seen[r]) & np.isfinite(rel[r])
        if keep.any():
            ax.plot(n[keep], rel[r, keep], color="tab:blue", alpha=0.25, lw=0.8)
    median = run.median_loss()
    keep = shown & np.isfinite(median) & (median > 0)
    if keep.any():
        ax.plot(n[keep], median[keep], color="tab:blue", lw=2.2, label="median loss")
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
    ax.tick_params(labelsize=SMALL)
    ax.grid(True, which="major", alpha=0.3)


def _draw_coefficients(ax: Any, run: Run, n: np.ndarray, shown: np.ndarray) -> None:
    """Right panel: median coefficient paths by predicted stage, learning times, probes."""
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
    ax.set_ylabel("coefficient (median)")
    ax.set_title("coefficients (dot: median learning time)")
    ax.tick_params(labelsize=SMALL)
    ax.grid(True, which="major", alpha=0.3)


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


def plot_scaling(verdict: Verdict, path: str | Path, *, title: str = "", dpi: int = 150) -> Path:
    """Draw samples-to-learn against ``d`` (log–log) with the fit, its band and the prediction.

    Every point is one replica; censored points (budget exhausted) are drawn as
    open triangles at the top of the axis and counted in the legend, never as if
    they had learned (:func:`_scaling_points`). The medians are joined, and the
    local slopes between neighbouring ``d`` are written above the plot frame,
    each over the middle of its pair, off every line (:func:`_scaling_medians`).
    The fitted slope over ``verdict.d_range_fit`` is drawn with its bootstrap band
    (the lines of the interval's two slopes through the same centre), and the
    predicted slope through the same centre, dashed (:func:`_scaling_fit`). One
    panel, ``0.62 *`` :data:`WIDTH` inches wide, the legend below it.

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
    return _draw_to(path, lambda: _scaling_figure(verdict, title), dpi=dpi)


def _draw_to(path: str | Path, build: Callable[[], Any], *, dpi: int) -> Path:
    """Check ``path`` (its folder is made), draw ``build()`` in the house fonts, save atomically."""
    out = check_figure_path(path, folder_must_exist=False)
    with _fonts():
        fig = build()
        out.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, out, dpi=dpi)
    return out


def _scaling_figure(verdict: Verdict, title: str) -> Any:
    """The Figure of :func:`plot_scaling` (unsaved)."""
    with _fonts():
        width = 0.62 * WIDTH
        fig = _figure(width, 3.9)
        ax = fig.subplots()
        # a d log d prediction is fitted on n / log d: draw what was fitted
        per = {d: math.log(d) if verdict.divided_by_log else 1.0 for d in verdict.ds}
        _scaling_points(ax, verdict, per)
        medians = _scaling_medians(ax, verdict, per)
        _scaling_fit(ax, verdict, medians)
        ax.set_yscale("log")
        ax.set_xlabel("d")
        ax.set_ylabel(f"{verdict.label} (samples per replica)")
        _log_d_axis(ax, verdict.ds)
        _legend_below(fig, [ax], ncol=2)
        head = f"{title}  verdict: {verdict.verdict}" if title else f"verdict: {verdict.verdict}"
        fig.suptitle(_wrapped(head, width), parse_math=False)  # user names may hold $ signs
        return fig


def _scaling_points(ax: Any, verdict: Verdict, per: dict[int, float]) -> None:
    """One dot per learned replica; censored replicas as open triangles above them all."""
    learned = [
        (d, p / per[d])
        for d in verdict.ds
        for p in verdict.samples_to_learn.get(d) or ()
        if p is not None
    ]
    top = max([p for _, p in learned], default=1.0)
    if learned:
        xs, ys = zip(*learned, strict=True)
        ax.scatter(xs, ys, s=12, alpha=0.35, color="tab:blue", label="one replica")
    censored_d = [d for d in verdict.ds for _ in range(verdict.censored.get(d, 0))]
    if censored_d:
        ax.scatter(censored_d, [top * 1.6] * len(censored_d), marker="^", facecolors="none",
                   edgecolors="tab:red", label=f"censored (budget): {len(censored_d)}")  # fmt: skip


def _scaling_medians(ax: Any, verdict: Verdict, per: dict[int, float]) -> dict[int, float]:
    """The medians joined, and each local slope written above the frame over its pair.

    Returns the medians drawn, ``{d: median / per[d]}``.
    """
    medians = {
        d: verdict.medians[d] / per[d]
        for d in verdict.ds
        if math.isfinite(verdict.medians[d]) and per[d] > 0
    }
    if not medians:
        return medians
    ax.plot(list(medians), list(medians.values()), "o-", color="tab:blue", lw=1.5, label="median")
    above = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for ls in verdict.local_slopes:
        if ls.d_lo in medians and ls.d_hi in medians:
            ax.text(math.sqrt(ls.d_lo * ls.d_hi), 1.02, f"{ls.slope:.2f}", transform=above,
                    ha="center", va="bottom", fontsize=SMALL, color="tab:blue")  # fmt: skip
    if verdict.local_slopes:
        ax.text(0.0, 1.02, "local slope:", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=SMALL, color="tab:blue")  # fmt: skip
    return medians


def _scaling_fit(ax: Any, verdict: Verdict, medians: dict[int, float]) -> None:
    """The fitted slope with its band over the fit range, and the predicted slope, dashed."""
    if verdict.slope is None or verdict.d_range_fit is None:
        return
    lo, hi = verdict.d_range_fit
    fit_ds = [d for d in medians if lo <= d <= hi]
    if not fit_ds:
        return
    dc = math.exp(np.mean(np.log(fit_ds)))
    mc = math.exp(np.mean([math.log(medians[d]) for d in fit_ds]))
    grid = np.geomspace(min(verdict.ds), max(verdict.ds), 50)
    ax.plot(grid, mc * (grid / dc) ** verdict.slope, color="tab:orange", lw=2,
            label=f"fit slope {verdict.slope:.2f}")  # fmt: skip
    if verdict.ci is not None and all(math.isfinite(c) for c in verdict.ci):
        a, b = (mc * (grid / dc) ** c for c in verdict.ci)
        band = f"{verdict.level:.0%} CI [{verdict.ci[0]:.2f}, {verdict.ci[1]:.2f}]"
        ax.fill_between(grid, np.minimum(a, b), np.maximum(a, b), color="tab:orange", alpha=0.2,
                        label=band)  # fmt: skip
    ax.plot(grid, mc * (grid / dc) ** verdict.predicted_exponent, "k--", lw=1.2,
            label=f"predicted slope {verdict.predicted_exponent:g}")  # fmt: skip
    ax.axvspan(lo, hi, color="0.9", zorder=0, label=f"fit range d = {lo}..{hi}")


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
    ax.set_xlabel("d", fontsize=FONT)
    ax.set_ylabel("local slope d log n / d log d", fontsize=FONT)


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
    ``k0 + q0 / log d``. The title says the verdict and its evidence. One row,
    :data:`WIDTH` inches wide, the legend below the panels; no text under
    :data:`SMALL` points.

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
    return _draw_to(path, lambda: _verification_figure(result, title), dpi=dpi)


def _verification_figure(result: Verification, title: str) -> Any:
    """The Figure of :func:`plot_verification` (unsaved)."""
    with _fonts():
        fig = _figure(WIDTH, 3.6)
        left, right = fig.subplots(1, 2)
        _draw_observable(left, result.selection, "tab:blue", "stage end", "o")
        _draw_observable(left, result.side["loss_0.2"], "tab:green", "loss 0.2 Var f", "s")
        _draw_observable(left, result.side["loss_0.05"], "tab:gray", "loss 0.05 Var f", "^")
        left.set_yscale("log")
        left.set_xlabel("d")
        left.set_ylabel("samples per replica")
        _log_d_axis(left, result.ds)
        _draw_slopes(right, result)
        _log_d_axis(right, result.ds)
        _legend_below(fig, [left, right], ncol=3)
        head = f"{title}: " if title else ""
        fig.suptitle(_wrapped(head + evidence(result), WIDTH), parse_math=False)
        return fig


# ---------------------------------------------------------------------------
# the support graph
# ---------------------------------------------------------------------------
#: Node styles of the support graph: monomials are blue squares, coordinates orange circles.
NODE_STYLE: dict[str, dict[str, str]] = {
    "monomial": {"boxstyle": "square,pad=0.35", "fc": "#dbe9f6", "ec": "#1f4e79"},
    "coordinate": {"boxstyle": "circle,pad=0.25", "fc": "#fde3c8", "ec": "#b35900"},
}
#: Colour of the witness arrows of the support graph.
WITNESS_COLOR = "#b2182b"


def plot_support_graph(graph: SupportGraph, path: str | Path) -> Path:
    """Draw a support graph, stages left to right, to a ``.png``, ``.svg`` or ``.pdf`` file.

    Each stage is a column of monomials (in witness order, top to bottom) with a
    column beside it for the coordinates first covered there. Monomials are blue
    squares with the cost of their step (``[k]``), coordinates orange circles
    (:data:`NODE_STYLE`). Incidence edges are grey lines under the nodes (width:
    degree); witness edges are solid arrows with large heads that end at the
    border of their nodes, each bent by its own angle (:func:`_witness_bends`) so
    that two arrows out of or into one node never run on top of each other. Every
    text is :data:`FONT` points (the figure grows with the graph instead of the
    text shrinking). Drawing uses matplotlib's object-oriented API with an Agg
    canvas, so it works without a display and leaves pyplot's backend alone.

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
    with _fonts():
        fig = _support_figure(graph)
        return save_figure(fig, out, dpi=150)  # atomic; a full disk is one input error


def _support_figure(graph: SupportGraph) -> Any:
    """The Figure of :func:`plot_support_graph` (unsaved)."""
    with _fonts():
        result = graph.leap
        shape = _SupportShape.of(result)
        span = _SupportShape.COLUMN * (shape.n_stages - 1) + 4.4  # the x limits' width, in units
        fig = _figure(max(5.0, shape.inches_per_unit * span / 0.95),
                      max(3.2, 0.5 * shape.height + 2.0), layout=None)  # fmt: skip
        ax = fig.add_subplot()
        ax.set_axis_off()
        pos = _support_positions(result)
        _draw_support_frame(ax, graph, shape)
        boxes = _draw_support_nodes(ax, graph, pos)
        fig.tight_layout()
        _draw_support_edges(ax, graph, pos, boxes)
        return fig


class _SupportShape:
    """The grid of a support drawing: stages, the tallest stage (rows), the longest label.

    ``inches_per_unit`` scales the grid so that the longest monomial label, at
    :data:`FONT` points, keeps clear of the coordinate circles ``1.4`` units beside it.
    """

    #: Width of a stage: monomial column at ``COLUMN * s``, coordinates at ``+ 1.4``.
    COLUMN = 3.0

    def __init__(self, n_mono: int, height: int, n_stages: int, longest: int = 0) -> None:
        self.n_mono = n_mono
        self.height = height
        self.n_stages = n_stages
        # half a label (~0.6 em a character) plus a circle and a margin, over 1.4 units
        half_label = 0.6 * FONT / 72 * longest / 2
        self.inches_per_unit = max(0.8, (half_label + 0.3) / 1.4)

    @classmethod
    def of(cls, result: LeapResult) -> _SupportShape:
        rows = {}
        for s, stage in enumerate(result.stages):
            coords = [c for c, t in result.stage_of.items() if t == s]
            rows[s] = max(len(stage), len(coords), 1)
        height = max(rows.values(), default=1)
        longest = max((len(_monomial_label(m, j)) for m, j in zip(result.order, result.jumps,
                       strict=True)), default=0)  # fmt: skip
        return cls(len(result.order), height, max(len(result.stages), 1), longest)


def _monomial_label(monomial: object, jump: int) -> str:
    """A monomial node's text: the monomial and the cost of its step."""
    return f"{monomial}  [{jump}]"


def _support_positions(result: LeapResult) -> dict[tuple[str, object], tuple[float, float]]:
    """Where each node goes: monomials by stage and witness order, coordinates beside them."""
    col = _SupportShape.COLUMN
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


def _witness_bends(
    edges: list[tuple[Any, Any]], pos: dict[Any, tuple[float, float]], half: dict[Any, float]
) -> dict[tuple[Any, Any], float]:
    """The ``arc3`` rad of every witness edge: no two edges at one node leave it alike.

    ``pos`` and ``half`` (each node's half width) are in display pixels. An edge
    between stages bends towards the lower (or, going up, the upper) left, so that
    it reaches its monomial from the left, by an amount that grows with its rank
    among the edges at its ends. An edge inside a stage's column (the monomials one
    step builds on) reaches its monomial from above, bent to the left or to the
    right alternately, leaving at an angle that grows with its rank, and at least
    far enough out to pass beside the boxes of the rows it skips. With
    ``rad = tan(angle) / 2`` the arc leaves its node at ``angle`` to the chord; it
    bulges ``rad * length / 2`` at its middle and ``4 t (1 - t)`` of that at the
    fraction ``t`` of its length.
    """
    rank: dict[Any, int] = {}
    bends: dict[tuple[Any, Any], float] = {}
    for u, v in sorted(edges, key=lambda e: (-pos[e[0]][1], pos[e[0]][0], -pos[e[1]][1])):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        k = max(rank.get(u, 0), rank.get(v, 0))
        rank[u], rank[v] = k + 1, k + 1
        if abs(x1 - x0) > 0.5:  # between stages: arc3's rad > 0 bulges to the lower left
            bends[(u, v)] = (0.15 + 0.07 * (k % 4)) * (1 if y1 <= y0 else -1)
            continue
        length = max(abs(y1 - y0), 1.0)
        angle = math.radians(min(30.0 + 14.0 * (k // 2), 75.0))
        bulge = math.tan(angle) / 2 * length / 2
        for node, (xn, yn) in pos.items():  # the boxes of the skipped rows
            t = (y0 - yn) / (y0 - y1) if y0 != y1 else 0.0
            if abs(xn - x0) < 0.5 and 0.0 < t < 1.0 and node not in (u, v):
                bulge = max(bulge, (half[node] + 8.0) / (4 * t * (1 - t)))
        rad = 2 * bulge / length
        bends[(u, v)] = rad if k % 2 == 0 else -rad
    return bends


def _draw_support_edges(
    ax: Any, graph: SupportGraph, pos: dict[Any, tuple[float, float]], boxes: dict[Any, Any]
) -> None:
    """Incidence edges as grey lines under the nodes, witness edges as arrows between borders."""
    from matplotlib.patches import FancyArrowPatch

    witness = []
    for u, v, data in graph.graph.edges(data=True):
        (x0, y0), (x1, y1) = pos[u], pos[v]
        if data["kind"] == "incidence":
            ax.plot([x0, x1], [y0, y1], color="0.7", lw=0.6 + 0.4 * data["weight"], zorder=1)
        else:
            witness.append((u, v))
    renderer = ax.figure.canvas.get_renderer()
    px = {node: tuple(ax.transData.transform(xy)) for node, xy in pos.items()}
    half = {node: text.get_window_extent(renderer).width / 2 for node, text in boxes.items()}
    for (u, v), rad in _witness_bends(witness, px, half).items():
        arrow = FancyArrowPatch(
            pos[u], pos[v], connectionstyle=f"arc3,rad={rad:.3f}", arrowstyle="-|>",
            mutation_scale=15, color=WITNESS_COLOR, lw=1.3, shrinkA=1, shrinkB=1,
            patchA=boxes[u].get_bbox_patch(), patchB=boxes[v].get_bbox_patch(), zorder=4,
        )  # fmt: skip
        arrow.set_gid(f"witness:{u[1]}->{v[1]}")
        ax.add_patch(arrow)
    ax.add_artist(_box_placer(list(boxes.values())))


def _box_placer(texts: list[Any]) -> Any:
    """An artist drawn just before the witness arrows that places every node's box.

    A text's box is placed when the text is drawn; the nodes are drawn above the
    arrows (so an arrow passing a node does not cover its label), so without this
    the arrows would be clipped against the boxes of the previous drawing (another
    dpi, or none yet).
    """
    from matplotlib.artist import Artist

    class BoxPlacer(Artist):
        def draw(self, renderer: Any) -> None:
            for text in texts:
                text.update_bbox_position_size(renderer)

    placer = BoxPlacer()
    placer.set_zorder(3.5)
    return placer


def _draw_support_nodes(ax: Any, graph: SupportGraph, pos: dict[Any, tuple[float, float]]) -> dict:
    """Monomials (squares, with the cost of their step) and coordinates (circles).

    Returns the text artist of every node (its box clips the witness arrows).
    """
    boxes = {}
    for node, data in graph.graph.nodes(data=True):
        kind = data["kind"]
        if kind == "monomial":
            label = _monomial_label(data["monomial"], data["jump"])
        else:
            label = f"x{data['coordinate']}"
        style = NODE_STYLE[kind]
        text = ax.text(*pos[node], label, ha="center", va="center", fontsize=FONT, zorder=5,
                       bbox={"boxstyle": style["boxstyle"], "fc": style["fc"], "ec": style["ec"],
                             "lw": 1.0})  # fmt: skip
        text.set_gid(f"{kind}:{node[1]}")
        boxes[node] = text
    return boxes


def _draw_support_frame(ax: Any, graph: SupportGraph, shape: _SupportShape) -> None:
    """Stage headings, limits, the legend (both node kinds, both edge kinds) and the title."""
    from matplotlib.lines import Line2D

    result, col = graph.leap, _SupportShape.COLUMN
    for s, jump in enumerate(result.stage_jumps()):
        ax.text(col * s + 0.7, 0.9, f"stage {s + 1} (jump {jump})", ha="center", va="bottom",
                fontsize=FONT + 1, fontweight="bold")  # fmt: skip
    ax.set_xlim(-1.8, col * (shape.n_stages - 1) + 2.6)
    ax.set_ylim(-(shape.height - 1) - 1.2, 1.6)
    mono, coord = NODE_STYLE["monomial"], NODE_STYLE["coordinate"]
    handles = [
        Line2D([], [], ls="none", marker="s", ms=9, mfc=mono["fc"], mec=mono["ec"],
               label="monomial [cost of its step]"),
        Line2D([], [], ls="none", marker="o", ms=9, mfc=coord["fc"], mec=coord["ec"],
               label="coordinate (first covered here)"),
        Line2D([], [], color="0.7", lw=1.0, label="uses coordinate (width: degree)"),
        Line2D([], [], color=WITNESS_COLOR, lw=1.3, marker=">", ms=6,
               label="witness: builds on"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=2,
              fontsize=SMALL, frameon=False)  # fmt: skip
    title = (
        f"leap {result.leap}"
        + (" (MSP)" if result.msp and result.order else "")
        + f" - {graph.expansion_domain}, {shape.n_mono} monomials"
    )
    ax.set_title(title, fontsize=FONT + 1)
