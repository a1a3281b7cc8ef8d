"""``csqbound report``: theory table, verification sweep, fits, LaTeX and figures in one folder.

:func:`build_report` takes a :class:`~csqbound.report.suite.Suite` and writes::

    OUT/report.tex          standalone document (booktabs tables, figures)
    OUT/report.pdf          when pdflatex is installed
    OUT/report.json         every number of the report
    OUT/tables/*.tex        theory.tex, verification.tex, stages.tex (to \\input in a paper)
    OUT/figures/*.pdf|png   scaling_<target> (samples to learn vs d), run_<target> (one run)
    OUT/runs.sqlite         the results store (a rerun resumes from it)

The sweeps of all targets run as one pool of independent runs; every finished
run is committed to the store at once, so a killed report loses at most the
runs in flight and a rerun reuses everything stored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from csqbound.display import html_table, short_repr, to_dataframe
from csqbound.errors import CsqboundError
from csqbound.progress import as_callback, with_progress
from csqbound.report.files import check_folder, write_text
from csqbound.report.suite import Suite, SuiteTarget
from csqbound.report.tables import (
    Math,
    Table,
    expression_latex,
    latex_document,
    latex_escape,
    monomial_latex,
    prose_latex,
    render,
    scale_latex,
    to_json,
)

__all__ = [
    "RECORD_COLUMNS",
    "STORE_NAME",
    "ReportResult",
    "build_report",
    "calibration_table",
    "stages_table",
    "target_row",
    "theory_records",
    "verification_table",
    "verification_tables",
]

#: File name of a report's results store in its output folder (``csqbound runs`` looks
#: there under the default folders).
STORE_NAME = "runs.sqlite"


#: Columns of :meth:`ReportResult.to_dataframe`: one row per target of the suite.
RECORD_COLUMNS = (
    "name", "expression", "domain", "leap", "predicted", "verdict", "robust", "share_k0",
    "best_k", "q_at_k0", "d_min", "d_max",
)  # fmt: skip


def target_row(record: dict[str, Any]) -> dict[str, Any]:
    """The headline of one target's record of ``report.json``: theory, then the verdict."""
    theory, v = record["theory"], record["verification"]
    sel = v["selection"]
    rng = sel.get("d_range") or [None, None]
    return {
        "name": record["name"],
        "expression": theory["expression"],
        "domain": theory["domain"],
        "leap": theory.get("leap"),
        "predicted": v["conjecture"],
        "verdict": v["verdict"],
        "robust": v.get("robust"),
        "share_k0": _share_value(v),
        "best_k": sel.get("best_k"),
        "q_at_k0": sel.get("q_at_k0"),
        "d_min": rng[0],
        "d_max": rng[-1],
    }


@dataclass(frozen=True, repr=False)
class ReportResult:
    """Where a report went and what it found.

    In a notebook it shows as a table with one row per target (:meth:`_repr_html_`);
    :meth:`to_dict` is ``report.json``'s data and :meth:`to_dataframe` one row per target.
    """

    out_dir: Path
    tex: Path
    pdf: Path | None
    json: Path
    store: Path
    tables: tuple[Path, ...]
    figures: tuple[Path, ...]
    data: dict[str, Any]
    wall_time: float
    pdf_note: str

    def records(self) -> list[dict[str, Any]]:
        """One headline record per target (:data:`RECORD_COLUMNS`)."""
        return [target_row(r) for r in self.data["targets"]]

    def to_dict(self) -> dict[str, Any]:
        """The data of ``report.json`` (without the schema version ``to_json`` adds)."""
        return dict(self.data)

    def __repr__(self) -> str:
        """One line: where the report is, and each target's verdict."""
        verdicts = {r["name"]: r["verdict"] for r in self.records()}
        return short_repr(
            "ReportResult", out_dir=str(self.out_dir), targets=len(verdicts), verdicts=verdicts
        )

    def _repr_html_(self) -> str:
        """A compact table for Jupyter: one row per target."""
        title = f"csqbound report in {self.out_dir} ({self.wall_time:.0f} s)"
        cols = ["name", "expression", "leap", "predicted", "verdict", "share_k0"]
        return html_table(title, cols, [[r[c] for c in cols] for r in self.records()])

    def to_dataframe(self) -> Any:
        """One row per target (:data:`RECORD_COLUMNS`). Needs pandas
        (``pip install 'csqbound[pandas]'``)."""
        return to_dataframe(self.records(), RECORD_COLUMNS)


def _slug(name: str, index: int) -> str:
    """A short, unique, file-safe name: the index keeps names apart that clean to the same."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40] or "target"
    return f"{index + 1:02d}_{clean}"


def _scale(exponent: float, divided_by_log: bool) -> str:
    if divided_by_log:
        return "d log d"
    return "d" if exponent == 1 else f"d^{exponent:g}"


def theory_records(suite: Suite) -> list[dict[str, Any]]:
    """Per target: leaps, CSQ exponent and bound at ``suite.csq_d``, predicted SGD exponents.

    Examples
    --------
    >>> from csqbound.report.suite import parse_suite
    >>> s = parse_suite('[report]\\nd = [8, 16]\\n[[target]]\\nexpression = "x1*x2*x3"')
    >>> r = theory_records(s)[0]
    >>> r["leap"], r["csq_exponent"], r["sgd_samples_exponent"], r["sgd_samples_scale"]
    (3, 3, 2, 'd^2')
    """
    from csqbound.analysis import analyze
    from csqbound.report.summary import csq_notes, leap_columns

    rows = []
    for t in suite.targets:
        a = analyze(t.target, d=suite.csq_d, tau=suite.tau)
        bound = a.csq.to_dict()
        pred = a.predicted()
        rows.append(
            {
                "name": t.name,
                "expression": t.expression,
                "domain": t.domain,
                **leap_columns(a),
                "csq_exponent": bound["exponent"],
                "csq_d": suite.csq_d,
                "tau": bound["tau"],
                "csq_bound": bound["bound"],
                "csq_log10_bound": bound["log10_bound"],
                "sgd_samples_exponent": pred.samples_exponent,
                "sgd_samples_scale": pred.samples_label,
                "sgd_time_exponent": pred.time_exponent,
                "stages": [[str(m) for m in stage] for stage in a.leap.stages],
                "notes": csq_notes(a),
            }
        )
    return rows


def _theory_table(rows: list[dict[str, Any]], suite: Suite) -> Table:
    from csqbound.report.summary import theory_cells

    return Table(
        (
            "target",
            "expression",
            "domain",
            "leap",
            "other leaps",
            "CSQ exp.",
            Math(r"$\log_{10} q$", f"log10 CSQ bound (d={suite.csq_d})"),
            "SGD samples",
            "SGD time exp.",
        ),
        tuple(
            (
                *theory_cells(r),
                r["csq_exponent"],
                None if r["csq_log10_bound"] is None else round(float(r["csq_log10_bound"]), 2),
                scale_latex(r["sgd_samples_scale"]),
                r["sgd_time_exponent"],
            )
            for r in rows
        ),
        title=Math(
            rf"Theory: leaps, CSQ lower bound $q$ at $d = {suite.csq_d}$ ($\tau = {suite.tau}$) "
            "and predicted SGD complexity",
            f"Theory: leaps, CSQ lower bound (tau = {suite.tau}) and predicted SGD complexity",
        ),
        label="tab:theory",
        compact=(
            "target", "expression", "leap", "other leaps", "CSQ exp.",
            f"log10 CSQ bound (d={suite.csq_d})", "SGD samples",
        ),
    )  # fmt: skip


def _ci_text(ci: Any) -> str:
    """An interval of a JSON record (``None`` ends are infinite): ``[0.93, 1.10]``, or ``-``."""
    if ci is None:
        return "-"
    lo, hi = ci
    fmt = [f"{lo:.2f}" if lo is not None else "-inf", f"{hi:.2f}" if hi is not None else "inf"]
    return f"[{fmt[0]}, {fmt[1]}]"


def _share_value(v: dict[str, Any]) -> float | None:
    """The share of seed resamples the predicted exponent ``k0`` won (``None``: not fitted)."""
    sel = v["selection"]
    return next((c["share"] for c in sel["candidates"] if c["k"] == sel["k0"]), None)


def _share(v: dict[str, Any]) -> str:
    share = _share_value(v)
    return "-" if share is None else f"{share:.0%}"


def _side_text(sel: dict[str, Any]) -> str:
    """A side verdict, or ``not reached`` when no replica measured it (all stopped first)."""
    per_d = sel.get("per_d") or []
    if per_d and all(p["points"] == 0 and p["censored"] == 0 for p in per_d):
        return "not reached"
    return str(sel["verdict"])


def _num_text(x: Any, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def verification_table(results: list[dict[str, Any]]) -> Table:
    """One row per target: the law tested, the verdict and its evidence, the side observables."""
    rows = []
    for r in results:
        v = r["verification"]
        sel = v["selection"]
        local = ", ".join(_num_text(s["slope"]) for s in sel["local_slopes"]) or "-"
        rng = sel["d_range"]
        rows.append(
            (
                r["name"],
                scale_latex(v["conjecture"]),
                v["verdict"],
                _share(v),
                "-" if sel["best_k"] is None else f"{sel['best_k']:g}",
                f"{_num_text(sel['q_at_k0'])} ({v['log_power']:g})",
                local + (" (trend away)" if sel["trend_away"] else ""),
                f"{rng[0]}-{rng[1]}" if rng else "-",
                _side_text(v["side"]["loss_0.2"]),
                _side_text(v["side"]["loss_0.05"]),
                "yes" if v["robust"] else "no",
                f"{_num_text(v['slope'])} {_ci_text(v['ci'])}",
            )
        )
    return Table(
        (
            "target", "law tested", "verdict", Math("share $k_0$", "share k0"),
            Math("best $k$", "best k"), Math("$q$ (expected)", "q (expected)"),
            "local slopes", Math("$d$ range", "d range"), "loss 0.2", "loss 0.05", "robust",
            "old slope [95% CI]",
        ),
        tuple(rows),
        compact=(
            "target", "law tested", "verdict", "share k0", "best k", "q (expected)", "d range",
            "robust",
        ),
        title=Math(
            r"End of the hardest stage vs $d$: model selection between $k_0-1, k_0, k_0+1$ "
            r"with a polylog nuisance $q$ (share: seed resamples won by $k_0$)",
            "End of the hardest stage vs d: model selection between k0-1, k0, k0+1 with a "
            "polylog nuisance q (share: seed resamples won by k0)",
        ),
        label="tab:verification",
    )  # fmt: skip


def calibration_table(results: list[dict[str, Any]]) -> Table:
    """The calibration cases: known law and source, the evidence, expected verdict, recovered."""
    rows = []
    for r in results:
        known = r.get("known")
        if not known:
            continue
        v = r["verification"]
        sel = v["selection"]
        expect = r.get("expect") or "agree"
        rng = sel["d_range"]
        q = _num_text(sel["q_at_k0"]) + (" (bound)" if sel.get("q_at_bound") else "")
        recovered = "yes" if v["verdict"] == expect else "NO"
        if recovered == "yes" and not v["robust"]:
            recovered = "yes, not robust"
        rows.append(
            (
                r["name"],
                Math(prose_latex(known), known),
                scale_latex(v["conjecture"]),
                f"{rng[0]}-{rng[1]}" if rng else "-",
                ", ".join(_num_text(x["slope"]) for x in sel["local_slopes"]) or "-",
                q,
                f"{v['verdict']} ({_share(v)})",
                expect,
                recovered,
            )
        )
    return Table(
        (
            "case",
            "known (source)",
            "law tested",
            Math("$d$ range", "d range"),
            "local slopes",
            Math("$q$ at $k_0$", "q at k0"),
            Math("verdict (share $k_0$)", "verdict (share k0)"),
            "expected",
            "recovered",
        ),  # fmt: skip
        tuple(rows),
        title=(
            "Calibration: does the runner recover known exponents at this protocol and d range?"
        ),
        label="tab:calibration",
        # LaTeX leaves out "expected" (recovered says whether the verdict matched it)
        compact=(
            "case",
            "known (source)",
            "law tested",
            "d range",
            "local slopes",
            "q at k0",
            "verdict (share k0)",
            "recovered",
        ),  # fmt: skip
    )


def stages_table(results: list[dict[str, Any]]) -> Table:
    """One row per target and predicted stage: its monomials, jump, predicted scale and fit."""
    rows = []
    for r in results:
        for st in r["verification"]["stages"]:
            fit = st["fit"]
            rows.append(
                (
                    r["name"],
                    st["stage"] + 1,
                    Math(
                        "$" + r",\,".join(_mono_tex(m) for m in st["monomials"]) + "$",
                        ", ".join(st["monomials"]),
                    ),
                    st["jump"],
                    scale_latex(st["scale"]),
                    f"{fit['slope']:.2f}" if fit["slope"] is not None else "-",
                    _ci_text(fit["ci"]),
                )
            )
    return Table(
        ("target", "stage", "monomials", "jump", "predicted", "fitted slope", "95% CI"),
        tuple(rows),
        title=(
            "Per-stage durations (from learning times): least-squares slope against d, "
            "a reported number (the verdicts are the model selection's)"
        ),
        label="tab:stages",
    )


def _mono_tex(text: str) -> str:
    from csqbound.report.summary import monomial_from_text

    return monomial_latex(monomial_from_text(text)).latex.strip("$")


def verification_tables(target: str, verification: dict[str, Any]) -> list[Table]:
    """``csqbound verify``'s tables from :meth:`Verification.to_dict`: the report's
    verification row, the headline observable per ``d`` (the selection's points), the
    stage fits; the verdict's reason and notes under them."""
    losses = verification.get("losses") or ["squared"]
    name: Any = expression_latex(target)
    if losses != ["squared"]:
        name = Math.join(name, f" ({', '.join(losses)} loss)")
    results = [{"name": name, "verification": verification}]
    sel = verification["selection"]
    slopes = {s["d_hi"]: s for s in sel["local_slopes"]}
    per_d = Table(
        (
            Math("$d$", "d"),
            "status",
            "learned",
            "censored",
            "excluded",
            "median samples",
            "local slope",
        ),
        tuple(
            (
                row["d"],
                "usable" if row["usable"] else "not used",
                row["points"] - row["censored"],
                row["censored"],
                row["excluded"],
                None if row["median"] is None else int(row["median"]),
                None if row["d"] not in slopes else _num_text(slopes[row["d"]]["slope"]),
            )
            for row in sel["per_d"]
        ),
        title=(
            f"{sel['label']} per d (every replica is one point; censored = budget "
            "exhausted, counted as +inf in the median, never averaged in)"
        ),
    )
    tables = [verification_table(results), per_d]
    if verification["stages"]:
        tables.append(stages_table(results))
    notes = (verification["reason"], *sel["notes"])
    return [*tables[:-1], replace(tables[-1], notes=notes)]


def _specs(t: SuiteTarget, seeds: int) -> list[Any]:
    """The runs of one target: per ``d`` its budget (``samples = "auto"``: from the prediction)."""
    from csqbound.experiments.sweep import make_grid

    specs = []
    for d in t.ds:
        settings = {**dict(t.settings), "samples": t.budget(d)}
        specs += make_grid(t.expression, [d], seeds, settings, domain=t.domain)
    return specs


@with_progress("sweep", "report")
def build_report(
    suite: Suite,
    out_dir: str | Path,
    *,
    store: str | Path | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: Callable[[Any], None] | bool | str | None = "auto",
    compile_pdf: bool = True,
    resamples: int = 2000,
) -> ReportResult:
    """Compute the theory, run (or resume) the sweeps, fit, and write the report folder.

    Parameters
    ----------
    suite
        From :func:`~csqbound.report.suite.load_suite`.
    out_dir
        Output folder (created).
    store
        SQLite store; default ``OUT/runs.sqlite``.
    workers, dask
        Executor of the sweep (:func:`~csqbound.experiments.sweep.run_sweep`).
    progress
        ``"auto"``: a progress bar on stderr when it is a terminal or in Jupyter,
        else one log line per run with an ETA (:mod:`csqbound.progress`);
        ``False`` or ``None``: nothing; a callable: called after every run with a
        :class:`~csqbound.experiments.sweep.SweepProgress` instead.
    compile_pdf
        Run ``pdflatex`` on ``report.tex`` when it is installed.
    resamples
        Bootstrap resamples of the fits.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    # every input error (a target, a size, a limit) before anything is created
    theory = theory_records(suite)
    per_target = [(t, _specs(t, suite.seeds)) for t in suite.targets]
    out = _prepare_folder(out)
    store_path = Path(store) if store is not None else out / STORE_NAME
    sweep, verifications = _sweeps(
        per_target, store_path, workers=workers, dask=dask, progress=as_callback(progress),
        resamples=resamples,
    )  # fmt: skip
    results, figures = _target_results(out, per_target, verifications, theory)
    table_paths = _write_tables(
        out / "tables",
        theory=_theory_table(theory, suite),
        calibration=calibration_table(results),
        verification=verification_table(results),
        stages=stages_table(results),
    )
    tex = out / "report.tex"
    write_text(tex, _document(suite, results, sweep, table_paths))
    data = _report_data(suite, results, sweep, store_path, time.perf_counter() - start)
    json_path = out / "report.json"
    write_text(json_path, to_json(data) + "\n")
    pdf, note = _compile(tex) if compile_pdf else (None, "not compiled (--no-pdf)")
    return ReportResult(
        out_dir=out,
        tex=tex,
        pdf=pdf,
        json=json_path,
        store=store_path,
        tables=tuple(table_paths),
        figures=tuple(figures),
        data=data,
        wall_time=time.perf_counter() - start,
        pdf_note=note,
    )


def _report_data(
    suite: Suite, results: list[dict[str, Any]], sweep: Any, store_path: Path, wall: float
) -> dict[str, Any]:
    """The document ``report.json`` holds (before its schema fields are added)."""
    return {
        "title": suite.title,
        "suite": suite.source,
        "d": None if suite.ds is None else list(suite.ds),
        "seeds": suite.seeds,
        "tau": str(suite.tau),
        "csq_d": suite.csq_d,
        "targets": results,
        "sweep": sweep.to_dict(),
        "store": str(store_path),
        "wall_time": wall,
    }


def _write_tables(folder: Path, **tables: Table) -> list[Path]:
    """Write each table as ``folder/<name>.tex`` (LaTeX, its compact columns), in order."""
    paths = []
    for name, table in tables.items():
        path = folder / f"{name}.tex"
        write_text(path, render(table, "latex") + "\n")
        paths.append(path)
    return paths


def _prepare_folder(out: Path) -> Path:
    """Create ``OUT``, ``OUT/tables`` and ``OUT/figures`` (never through a symbolic link);
    remove a stale ``report.pdf``."""
    for folder in (out, out / "tables", out / "figures"):
        check_folder(folder)
    try:
        (out / "report.pdf").unlink(missing_ok=True)  # never leave a stale PDF beside a new tex
    except OSError as exc:
        msg = f"cannot write the report to {out}: {exc.strerror or exc}"
        raise CsqboundError(msg) from exc
    return out


def _sweeps(
    per_target: list[tuple[SuiteTarget, list[Any]]],
    store_path: Path,
    *,
    workers: int | None,
    dask: str | None,
    progress: Callable[[Any], None] | None,
    resamples: int,
) -> tuple[Any, list[Any]]:
    """Run (or resume) every target's sweep as one pool; collect each target's verification."""
    from csqbound.experiments.store import Store
    from csqbound.experiments.sweep import run_sweep
    from csqbound.experiments.verify import Conjecture, collect

    all_specs = [spec for _, specs in per_target for spec in specs]
    with Store(store_path) as db:
        sweep = run_sweep(all_specs, store=db, workers=workers, dask=dask, progress=progress)
        verifications = [
            collect(
                specs, db, sweep, resamples=resamples,
                conjecture=Conjecture.of(
                    t.expression, t.domain, t.exponent, t.log_power,
                    str(t.settings.get("loss", "squared")),
                ),
            )
            for t, specs in per_target
        ]  # fmt: skip
    return sweep, verifications


def _target_results(
    out: Path,
    per_target: list[tuple[SuiteTarget, list[Any]]],
    verifications: list[Any],
    theory: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[Path]]:
    """Per target: its figures (scaling, one example run) and its record in report.json."""
    from csqbound.report.plots import evidence, plot_run, plot_verification
    from csqbound.sgd.train import train

    figures: list[Path] = []
    results = []
    for index, ((t, _), ver, th) in enumerate(zip(per_target, verifications, theory, strict=True)):
        slug = _slug(t.name, index)
        for ext in ("pdf", "png"):
            figures.append(
                plot_verification(ver, out / "figures" / f"scaling_{slug}.{ext}", title=t.name)
            )
        d_mid = t.ds[0]
        settings = {**dict(t.settings), "samples": t.budget(d_mid)}
        run = train(t.expression, t.domain, d=d_mid, seed=0, **settings)
        for ext in ("pdf", "png"):
            figures.append(plot_run(run, out / "figures" / f"run_{slug}.{ext}"))
        results.append(
            {
                "name": t.name,
                "slug": slug,
                "theory": th,
                "verification": ver.to_dict(),
                "evidence": evidence(ver),
                "known": t.known,
                "expect": t.expect,
                "example_run_d": d_mid,
            }
        )
    return results, figures


def _document(suite: Suite, results: list[dict[str, Any]], sweep: Any, tables: list[Path]) -> str:
    """The LaTeX body: method, the ``tables`` written beside it (``\\input`` in that order),
    then one page per target with its figures."""
    ds = "auto (from each prediction)" if suite.ds is None else ", ".join(map(str, suite.ds))
    intro = (
        "Predicted sample complexity of online SGD, "
        r"$n(d) = \tilde\Theta(d^{\max(L-1,1)})$ ($d \log d$ for $L = 2$), against the "
        "measured end of the hardest stage (per replica, the median over that stage's "
        "monomials of the first time its coefficient reaches half the target's). The verdict "
        "is a model selection between the exponents $k_0-1, k_0, k_0+1$ with a polylog "
        r"power $q \in [-1, 2]$ as a nuisance, bootstrapping whole seeds within each $d$: "
        "agree when $k_0$ wins at least 95\\% of the resamples, disagree when at most 5\\%. "
        "The loss-threshold times ($0.2$ and $0.05$ of Var $f$) are judged by the same rule; "
        "a verdict is robust when the stage end and $0.2$ agree. The calibration table says "
        "whether the same protocol and $d$ range recover known exponents. Sweep: "
        + latex_escape(
            f"{sweep.total} runs ({sweep.done} run now, {sweep.skipped} reused from the store, "
            f"{sweep.failed} failed), seeds = {suite.seeds}, d = {ds}."
        )
    )
    body = [intro, *(rf"\input{{{p.parent.name}/{p.name}}}" for p in tables)]
    for r in results:
        v = r["verification"]
        slug = r["slug"]
        body.append(r"\clearpage")
        body.append(
            r"\subsection*{" + latex_escape(f"{r['name']}: {r['theory']['expression']}") + "}"
        )
        body.append(latex_escape(v["reason"]) + r"\par")
        for note in v["selection"]["notes"] + v["notes"]:
            body.append(r"\emph{" + latex_escape(note) + r"}\par")
        for note in r["theory"]["notes"]:
            body.append(latex_escape(note) + r"\par")
        body.append(r"\begin{figure}[h]\centering")
        # at its natural size (plots.WIDTH, under the landscape text width): the fonts stay
        # the 8-9 pt they were drawn at
        body.append(r"\includegraphics{figures/scaling_" + slug + r".pdf}")
        body.append(
            r"\caption{" + latex_escape(r["evidence"]) + ". "
            + latex_escape("Left: medians against d with the law that won the selection over ")
            + latex_escape("its fitted range. Right: local slopes (95% seed-bootstrap ")
            + latex_escape("intervals) against the prediction's finite-d slope k0 + q0/log d.")
            + "}"
        )  # fmt: skip
        body.append(r"\end{figure}")
        body.append(r"\begin{figure}[h]\centering")
        body.append(r"\includegraphics{figures/run_" + slug + ".pdf}")
        body.append(
            r"\caption{"
            + latex_escape(f"One run at d = {r['example_run_d']} (seed 0): loss with plateaus ")
            + latex_escape("shaded, coefficient paths by predicted stage.")
            + "}"
        )
        body.append(r"\end{figure}")
    return latex_document(r"\small", *body, title=suite.title, landscape=True)


def _compile(tex: Path) -> tuple[Path | None, str]:
    """Run pdflatex twice (for references); say why not when it is missing or fails.

    pdflatex writes into a temporary folder beside ``tex``; only a complete PDF is
    moved to ``report.pdf`` (a full disk or a killed run never leaves half of one),
    and the log to ``report.log``.
    """
    engine = shutil.which("pdflatex")
    if engine is None:
        return None, "pdflatex not found: install a TeX distribution to get report.pdf"
    with tempfile.TemporaryDirectory(prefix="pdflatex-", dir=tex.parent) as build:
        for _ in range(2):
            done = subprocess.run(
                [engine, "-interaction=nonstopmode", "-halt-on-error",
                 f"-output-directory={Path(build).name}", tex.name],
                cwd=tex.parent,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                break
        log = Path(build) / tex.with_suffix(".log").name
        if log.is_file():
            os.replace(log, tex.with_suffix(".log"))
        if done.returncode != 0:
            tail = " ".join(done.stdout.strip().splitlines()[-3:])
            return None, f"pdflatex failed (see {tex.with_suffix('.log')}): {tail}"
        os.replace(Path(build) / tex.with_suffix(".pdf").name, tex.with_suffix(".pdf"))
    return tex.with_suffix(".pdf"), "compiled with pdflatex"
