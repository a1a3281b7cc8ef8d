"""matplotlib figures of SGD runs.

:func:`plot_run` draws a :class:`~csqbound.sgd.train.Run`: the test loss with
its plateaus on the left, the coefficient paths of the target's monomials with
their learning times and predicted stages on the right. Figures are built on
matplotlib's Agg canvas directly (no pyplot, no global backend state), so
drawing works without a display and does not disturb a caller's own matplotlib
setup. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from csqbound.errors import CsqboundError

if TYPE_CHECKING:
    from csqbound.sgd.train import Run

__all__ = ["FORMATS", "plot_run"]

#: File suffixes :func:`plot_run` can write.
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
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        msg = f"cannot write a figure to {out.name!r}: use a name ending in {', '.join(FORMATS)}"
        raise CsqboundError(msg)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_coef = fig.subplots(1, 2)
    n = np.asarray(run.eval_samples, dtype=float)
    shown = n > 0
    _draw_loss(ax_loss, run, n, shown)
    _draw_coefficients(ax_coef, run, n, shown)
    title = f"{run.target}  ({run.domain}, d = {run.settings.get('d')}"
    if run.leap is not None:
        title += f", leap {run.leap}"
    title += f", {run.replicas} replicas, {run.backend})"
    fig.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
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
