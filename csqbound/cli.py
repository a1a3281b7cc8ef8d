"""The ``csqbound`` command line (typer).

Data goes to stdout, progress and errors to stderr. Exit codes: 0 success, 2 bad
input (one line on stderr, never a traceback), 1 an unexpected failure.
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from csqbound.errors import CsqboundError, shorten
from csqbound.experiments.sweep import DEFAULT_SETTINGS as _DEFAULTS
from csqbound.monomial import Domain
from csqbound.report.tables import Format
from csqbound.sgd.backend import BACKENDS, DTypeName, backend_help
from csqbound.sgd.losses import LOSSES
from csqbound.sgd.network import ACTIVATIONS
from csqbound.sgd.protocol import Schedule, StepRule

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Leap complexity, CSQ lower bounds and SGD scaling checks for sparse targets.",
)


def _print_version(value: bool) -> None:
    if value:
        from csqbound import __version__

        typer.echo(f"csqbound {__version__}")
        raise typer.Exit


@app.callback()
def _global(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Leap complexity, CSQ lower bounds and SGD scaling checks for sparse targets."""


F = TypeVar("F", bound=Callable[..., Any])


def _choices(values: Sequence[str]) -> dict[str, Any]:
    """Option settings that list ``values`` in ``--help`` and complete them in the shell.

    The values are still checked by the library (with its one clear error line and
    its aliases), not by click, so ``--loss l2`` keeps working where the library
    accepts it.
    """
    names = tuple(values)

    def complete(incomplete: str) -> list[str]:
        return [v for v in names if v.startswith(incomplete)]

    return {"metavar": "[" + "|".join(names) + "]", "autocompletion": complete}


_DOMAINS = typing.get_args(Domain)
_FORMATS = typing.get_args(Format)

DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain",
        "-D",
        help="Input distribution: boolean ({-1,1}^d, the default) or gaussian (N(0, I_d)); "
        "a catalog name brings its own domain.",
        show_default=False,
        **_choices(_DOMAINS),
    ),
]
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table, json, markdown or latex.",
        **_choices(_FORMATS),
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        "-c",
        help="Comma-separated columns to show, or 'all' (default: all in table and markdown, "
        "a compact set in latex).",
        show_default=False,
    ),
]
ExprArg = Annotated[
    str,
    typer.Argument(
        help="Target expression in x1..xP, e.g. 'x1 + x1*x2*x3' or 'He3((x1 - x2)/sqrt(2))', "
        "or the name of a catalog entry (see `csqbound zoo`).",
        show_default=False,
    ),
]


WidthOpt = Annotated[int, typer.Option(help="Hidden units N.")]
BatchOpt = Annotated[int, typer.Option(help="Fresh samples per step and replica.")]
SamplesOpt = Annotated[int, typer.Option(help="Sample budget per replica.")]
LrOpt = Annotated[
    float | None,
    typer.Option(
        help="eta0: first-layer step eta0*N/d, output step eta0/(N*d) x the output ratio; "
        "default 0.5 boolean, 0.1 gaussian.",
        show_default=False,
    ),
]
ScheduleOpt = Annotated[
    str,
    typer.Option(
        help="joint (both layers together) or layerwise (first layer with the second "
        "fixed, then the second fitted).",
        **_choices(typing.get_args(Schedule)),
    ),
]
OutputStepOpt = Annotated[
    str,
    typer.Option(
        help="Output-layer step: mean-field (eta0/(N*d)), width (N times it) or a "
        "positive multiple of it.",
        metavar="[mean-field|width|MULTIPLE]",
    ),
]
StepRuleOpt = Annotated[
    str,
    typer.Option(
        help="exponent: both steps times min(1, (d/16)^(-(k-2)/2)) for a predicted leap "
        "k >= 3 (the regime of the proofs; the 1/d step for k <= 2), or 1/d.",
        **_choices(sorted(typing.get_args(StepRule), reverse=True)),
    ),
]
LossOpt = Annotated[
    str,
    typer.Option(
        help="Training loss: squared, absolute, huber or logcosh (SGD steps on its derivative "
        "in the output; loss curves stay the squared test error).",
        **_choices(LOSSES),
    ),
]
HuberDeltaOpt = Annotated[
    float | None,
    typer.Option(
        help="delta of the Huber loss (quadratic for |residual| <= delta); default 1.",
        show_default=False,
    ),
]
ActivationOpt = Annotated[
    str, typer.Option(help="relu, softplus or shifted_softplus.", **_choices(ACTIVATIONS))
]
BackendOpt = Annotated[
    str,
    typer.Option(help=backend_help(), **_choices(BACKENDS)),
]
SuiteBackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Run every target on this backend (default: the suite's; " + backend_help() + ").",
        show_default=False,
        **_choices(BACKENDS),
    ),
]
DTypeOpt = Annotated[
    str, typer.Option(help="float32 or float64.", **_choices(typing.get_args(DTypeName)))
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no progress log lines.")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(help="Local worker processes (default: all cores).", show_default=False),
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        help="Run on Dask: tcp://HOST:PORT, or local:N for a local cluster.", show_default=False
    ),
]

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
ReportDbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="SQLite store (default OUT/runs.sqlite).", show_default=False),
]
PdfOpt = Annotated[bool, typer.Option("--pdf/--no-pdf", help="Compile report.tex with pdflatex.")]

# -- options of verify -----------------------------------------------------------------------
SeedsOpt = Annotated[int, typer.Option(help="Independent runs per d (each trains --replicas).")]
ReplicasOpt = Annotated[int, typer.Option(help="Replicas per run; each is one point.")]
StopLossOpt = Annotated[float, typer.Option(help="Learned at test loss <= this * Var f.")]
ExponentOpt = Annotated[
    float | None,
    typer.Option(
        help="Test the conjecture n ~ d^K log^Q d with this K instead of the leap's prediction.",
        show_default=False,
    ),
]
LogPowerOpt = Annotated[
    float | None,
    typer.Option(
        help="Q of the conjecture (reported against the fitted polylog power); default 1 "
        "for a predicted d log d, else 0.",
        show_default=False,
    ),
]
VerifyDbOpt = Annotated[
    Path, typer.Option("--db", help="SQLite results store (resumed if it exists).")
]
VerifyPlotOpt = Annotated[
    Path | None,
    typer.Option(
        help="Write the stage end and loss-0.2 times vs d with the winning law, and "
        "the local slopes."
    ),
]


def _check_plot(plot: Path | None) -> None:
    """Check a figure path before any work: its suffix and its folder."""
    if plot is not None:
        from csqbound.report.plots import check_figure_path

        check_figure_path(plot, action="plot to")


#: Longest error line on stderr (the prefix included).
ERROR_LINE_LIMIT = 300
_PREFIX = "csqbound: error: "


def _error_line(message: object) -> str:
    """One printable line of at most :data:`ERROR_LINE_LIMIT` characters."""
    room = ERROR_LINE_LIMIT - len(_PREFIX)
    text = shorten(" ".join(str(message).split()) or "unknown error", room - 3)
    return _PREFIX + (text if len(text) <= room else text[: room - 3] + "...")


def _fail(message: str, code: int) -> None:
    typer.echo(_error_line(message), err=True)
    raise typer.Exit(code)


def _closed_stdout() -> int:
    """The reader of stdout went away (``csqbound ... | head``): stop quietly, like cat."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so that the final flush does not fail again
    return 141  # 128 + SIGPIPE, what a shell reports for a process killed by it


def guarded(func: F) -> F:
    """Turn a CsqboundError into one stderr line and exit code 2; anything else into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except CsqboundError as err:
            _fail(str(err) or type(err).__name__, 2)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            raise typer.Exit(_closed_stdout()) from None
        except Exception as err:  # noqa: BLE001 - the CLI must never show a traceback
            first = str(err).splitlines()[0] if str(err) else ""
            _fail(f"internal error ({type(err).__name__}: {shorten(first)}); please report it", 1)
        return None

    return wrapper  # type: ignore[return-value]


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


class _Output:
    """The output of a command: the format and columns, checked before any work; then the
    JSON data or the tables, rendered once (:func:`csqbound.report.tables.render_tables`)."""

    def __init__(self, fmt: str, columns: str | None = None) -> None:
        from csqbound.report.tables import check_format, parse_columns

        self.fmt = check_format(fmt)
        self.columns = parse_columns(columns)
        if self.columns is not None and self.fmt == "json":
            msg = "--columns chooses table columns; it does not apply to --format json"
            raise CsqboundError(msg)

    def emit(self, data: Any, tables: Callable[[], Any]) -> None:
        """Print ``data`` as JSON, or the tables ``tables()`` returns in the chosen format."""
        from csqbound.report.tables import render_tables, to_json

        if self.fmt == "json":
            _emit(to_json(data))
        else:
            _emit(render_tables(tables(), self.fmt, self.columns))


def _catalog_expression(text: str) -> str:
    """The expression of a catalog entry named ``text``, else ``text`` itself."""
    from csqbound.catalog import catalog_entry, catalog_names

    return catalog_entry(text.strip()).expression if text.strip() in catalog_names() else text


def _target(expr: str, domain: str | None) -> Any:
    """Parse EXPR, or look it up in the catalog when it is a catalog name."""
    from csqbound.catalog import catalog_entry, catalog_names
    from csqbound.monomial import check_domain
    from csqbound.target import Target

    chosen = None if domain is None else check_domain(domain)  # '' is an error, not boolean
    if expr.strip() in catalog_names():
        entry = catalog_entry(expr.strip())
        if chosen is not None and chosen != entry.domain:
            msg = f"catalog entry {entry.name!r} is a {entry.domain} target, not {chosen}"
            raise CsqboundError(msg)
        return Target.from_text(entry.expression, entry.domain)
    return Target.from_text(expr, chosen or "boolean")


@app.command()
@guarded
def expand(
    expr: ExprArg,
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
    max_degree: Annotated[
        int, typer.Option(help="Gaussian quadrature only: largest total degree computed.")
    ] = 8,
    columns: ColumnsOpt = None,
) -> None:
    """Expand EXPR in the Walsh (boolean) or Hermite (gaussian) basis."""
    from csqbound.expansion import expand as do_expand
    from csqbound.report.summary import expansion_summary, expansion_table

    output = _Output(fmt, columns)
    target = _target(expr, domain)
    summary = expansion_summary(target, do_expand(target, max_degree=max_degree))
    output.emit(summary, lambda: [expansion_table(summary)])


@app.command()
@guarded
def leap(
    expr: ExprArg,
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
    columns: ColumnsOpt = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="Boolean targets: comma-separated losses for the DLQ leaps (squared, absolute, "
            "huber, logcosh, quartic); default all.",
            show_default=False,
            metavar="LOSS[,LOSS...]",
        ),
    ] = None,
) -> None:
    """The leap of EXPR: witness, jumps, stages, MSP, cover; CSQ/SQ/DLQ leaps or iso/IE/GE."""
    from csqbound.analysis import analyze
    from csqbound.dlq import check_loss
    from csqbound.report.summary import leap_summary, leap_tables

    output = _Output(fmt, columns)
    losses = None if loss is None else [check_loss(n).name for n in loss.split(",")]
    summary = leap_summary(analyze(_target(expr, domain)), losses=losses)
    output.emit(summary, lambda: leap_tables(summary))


@app.command()
@guarded
def graph(
    expr: ExprArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Image file to write (.png, .svg or .pdf).")
    ],
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
    columns: ColumnsOpt = None,
) -> None:
    """Draw the support graph of EXPR (monomials, coordinates, witness DAG) by stage."""
    from csqbound.report.plots import plot_support_graph
    from csqbound.report.tables import Table
    from csqbound.support import SupportGraph

    output = _Output(fmt, columns)
    target = _target(expr, domain)
    sg = SupportGraph.build(target.expression, domain=target.domain)
    path = plot_support_graph(sg, out)
    g = sg.to_networkx()
    info = {
        "expression": expr,
        "out": str(path),
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "leap": sg.leap.leap,
    }
    output.emit(info, lambda: [Table(tuple(info), (tuple(info.values()),), title="Support graph")])


@app.command()
@guarded
def csq(
    expr: ExprArg,
    d: Annotated[
        int, typer.Option("--d", help="Ambient dimension d (>= number of variables P).")
    ] = 64,
    tau: Annotated[
        str, typer.Option("--tau", help="Query tolerance tau > 0 (read exactly: 0.01 is 1/100).")
    ] = "0.01",
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
    columns: ColumnsOpt = None,
) -> None:
    """Stage-wise CSQ lower bound for learning EXPR on hidden coordinates (THEORY section 5)."""
    from csqbound.analysis import analyze
    from csqbound.report.summary import csq_record, csq_tables

    output = _Output(fmt, columns)
    target = _target(expr, domain)
    data = csq_record(analyze(target, d=d, tau=tau))
    output.emit(data, lambda: csq_tables(data))


@app.command()
@guarded
def zoo(
    fmt: FormatOpt = "table",
    d: Annotated[
        int, typer.Option("--d", help="Dimension at which CSQ bounds are evaluated.")
    ] = 64,
    columns: ColumnsOpt = None,
) -> None:
    """The catalog of named targets with their leaps, CSQ exponent and predicted SGD exponent."""
    from csqbound.csq import check_dimension
    from csqbound.report.summary import zoo_records, zoo_table

    output = _Output(fmt, columns)
    records = zoo_records(d=check_dimension(d))
    output.emit(records, lambda: [zoo_table(records)])


def _stop_loss(text: str) -> float | None:
    if text.strip().lower() in ("none", "off", "never"):
        return None
    try:
        return float(text)
    except ValueError:
        msg = f"--stop-loss must be a number (a fraction of Var f) or 'none', got {text!r}"
        raise CsqboundError(msg) from None


@app.command()
@guarded
def train(
    expr: ExprArg,
    d: Annotated[int, typer.Option("--d", help="Input dimension d (>= number of variables P).")],
    domain: DomainOpt = None,
    width: WidthOpt = _DEFAULTS["width"],
    replicas: Annotated[
        int, typer.Option(help="Independent replicas trained side by side.")
    ] = _DEFAULTS["replicas"],
    batch: BatchOpt = _DEFAULTS["batch"],
    samples: SamplesOpt = _DEFAULTS["samples"],
    lr: LrOpt = None,
    activation: ActivationOpt = "relu",
    backend: BackendOpt = "numpy",
    dtype: DTypeOpt = "float32",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).")] = 0,
    stop_loss: Annotated[
        str,
        typer.Option(
            help="Stop a replica at test loss <= this * Var f (and its hardest stage "
            "learned); 'none' trains to the budget."
        ),
    ] = str(_DEFAULTS["stop_loss"]),
    schedule: ScheduleOpt = _DEFAULTS["schedule"],
    output_step: OutputStepOpt = _DEFAULTS["output_step"],
    step_rule: StepRuleOpt = _DEFAULTS["step_rule"],
    loss: LossOpt = _DEFAULTS["loss"],
    huber_delta: HuberDeltaOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a figure (.png, .pdf or .svg): loss with plateaus, coefficient paths."
        ),
    ] = None,
    fmt: FormatOpt = "table",
    columns: ColumnsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train two-layer networks by online SGD on EXPR and report learning times and plateaus."""
    from csqbound.report.summary import train_tables
    from csqbound.sgd.train import train as do_train

    output = _Output(fmt, columns)
    target = _target(expr, domain)
    _check_plot(plot)
    kwargs = {
        "d": d,
        "width": width,
        "replicas": replicas,
        "batch": batch,
        "samples": samples,
        "lr": lr,
        "activation": activation,
        "backend": backend,
        "dtype": dtype,
        "seed": seed,
        "stop_loss": _stop_loss(stop_loss),
        "schedule": schedule,
        "output_step": output_step,
        "step_rule": step_rule,
        "loss": loss,
        "huber_delta": huber_delta,
    }
    run = _train_with_progress(do_train, target, kwargs, quiet)
    if plot is not None:
        from csqbound.report.plots import plot_run

        plot_run(run, plot)
        typer.echo(f"csqbound: figure written to {plot}", err=True)
    output.emit({"expression": str(target), **run.to_dict()}, lambda: train_tables(run))


def _train_with_progress(
    do_train: Callable[..., Any], target: Any, kwargs: dict[str, Any], quiet: bool
) -> Any:
    """Run ``train`` with :mod:`csqbound.progress`'s display on stderr (off with ``--quiet``).

    A terminal gets a bar (samples of the whole total, samples/s, ETA, loss/Var f);
    a pipe or a file a log line every ``LOG_INTERVAL`` seconds at most.
    """
    return do_train(target, target.domain, progress=not quiet and "auto", **kwargs)


def _d_list(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        msg = "--d needs at least one dimension, e.g. --d 8,16,32"
        raise CsqboundError(msg)
    try:
        return [int(p) for p in parts]
    except ValueError:
        msg = f"--d must be a comma-separated list of integers, e.g. 8,16,32; got {text!r}"
        raise CsqboundError(msg) from None


def _sweep_progress(quiet: bool) -> Any:
    """The ``progress=`` of a sweep, as a context manager (off with ``--quiet``).

    :mod:`csqbound.progress` draws a bar of the runs on a terminal and writes one log
    line per finished run with an ETA to a pipe or a file.
    """
    import contextlib

    return contextlib.nullcontext(not quiet and "auto")


@app.command()
@guarded
def verify(
    expr: ExprArg,
    d: Annotated[str, typer.Option("--d", help="Comma-separated dimensions, e.g. 8,16,32.")],
    domain: DomainOpt = None,
    seeds: SeedsOpt = 8,
    replicas: ReplicasOpt = _DEFAULTS["replicas"],
    samples: SamplesOpt = _DEFAULTS["samples"],
    width: WidthOpt = _DEFAULTS["width"],
    batch: BatchOpt = _DEFAULTS["batch"],
    lr: LrOpt = None,
    stop_loss: StopLossOpt = _DEFAULTS["stop_loss"],
    schedule: ScheduleOpt = _DEFAULTS["schedule"],
    output_step: OutputStepOpt = _DEFAULTS["output_step"],
    step_rule: StepRuleOpt = _DEFAULTS["step_rule"],
    loss: LossOpt = _DEFAULTS["loss"],
    huber_delta: HuberDeltaOpt = None,
    backend: BackendOpt = _DEFAULTS["backend"],
    exponent: ExponentOpt = None,
    log_power: LogPowerOpt = None,
    db: VerifyDbOpt = Path("csqbound.sqlite"),
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    plot: VerifyPlotOpt = None,
    fmt: FormatOpt = "table",
    columns: ColumnsOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run (or resume) a sweep of EXPR over d and seeds; judge the predicted (or given) exponent."""
    from csqbound.experiments.verify import verify as do_verify
    from csqbound.report.pipeline import verification_tables

    output = _Output(fmt, columns)
    target = _target(expr, domain)
    _check_plot(plot)
    settings: dict[str, Any] = {
        "replicas": replicas,
        "samples": samples,
        "width": width,
        "batch": batch,
        "lr": lr,
        "stop_loss": stop_loss,
        "schedule": schedule,
        "output_step": output_step,
        "step_rule": step_rule,
        "loss": loss,
        "huber_delta": huber_delta,
        "backend": backend,
    }
    with _sweep_progress(quiet) as progress:
        result = do_verify(
            str(target),
            target.domain,
            ds=_d_list(d),
            seeds=seeds,
            settings=settings,
            store=db,
            workers=workers,
            dask=dask,
            progress=progress,
            exponent=exponent,
            log_power=log_power,
        )
    if plot is not None:
        from csqbound.report.plots import plot_verification

        plot_verification(result, plot, title=str(target))
        typer.echo(f"csqbound: figure written to {plot}", err=True)
    data = {"expression": str(target), **result.to_dict()}
    output.emit(data, lambda: verification_tables(str(target), data))


#: Output folders of ``report`` and ``calibrate`` when no ``--out`` is given.
REPORT_OUT = Path("csqbound-report")
CALIBRATION_OUT = Path("csqbound-calibration")
#: Replica statuses, each a column of ``runs --format csv`` (``error``: the run raised).
RUN_STATUSES = ("ok", "diverged", "budget_exhausted", "error")


def _find_store(db: Path | None) -> Path:
    """The store ``runs`` lists: ``--db``, else the newest of the default places.

    The default places are ``csqbound.sqlite`` (``verify``) and the stores of
    ``report`` and ``calibrate`` under their default output folders.
    """
    from csqbound.experiments.store import DEFAULT_PATH
    from csqbound.report.pipeline import STORE_NAME

    if db is not None:
        if not db.exists():
            msg = f"no results store at {db} (run a sweep first, or give --db PATH)"
            raise CsqboundError(msg)
        return db
    places = [Path(DEFAULT_PATH), REPORT_OUT / STORE_NAME, CALIBRATION_OUT / STORE_NAME]
    found = [p for p in places if p.is_file()]
    if not found:
        msg = (
            f"no results store in {', '.join(map(str, places))}; give --db PATH "
            "(a report's store is OUT/runs.sqlite; `csqbound report` prints its path)"
        )
        raise CsqboundError(msg)
    newest = max(found, key=lambda p: p.stat().st_mtime)
    if len(found) > 1:
        others = ", ".join(str(p) for p in found if p != newest)
        typer.echo(f"csqbound: listing {newest}, the newest store (also: {others})", err=True)
    return newest


def _run_record(run: Any, settings: tuple[str, ...]) -> dict[str, Any]:
    """One row of ``runs``: the spec, the ``settings`` named, status counts, the median."""
    import math

    from csqbound.experiments.scaling import censored_median

    counts = {s: 0 for s in RUN_STATUSES}
    for s in run.status or ("error",):
        counts[s] = counts.get(s, 0) + 1
    # the median over replicas, censored (budget exhausted) ones counting as +inf
    values = sorted(
        float(n) if n is not None else math.inf
        for n, st in zip(run.samples_to_learn, run.status, strict=False)
        if n is not None or st == "budget_exhausted"
    )
    median = censored_median(values) if values else None
    chosen = {**dict(run.settings), "loss": run.loss}
    return {
        "target": run.target,
        "domain": run.domain,
        "d": run.d,
        "seed": run.seed,
        **{name: chosen.get(name) for name in settings},
        "replicas": len(run.status),
        "status": ", ".join(f"{k}: {v}" for k, v in counts.items() if v),
        **counts,
        "samples_to_learn": (
            None if median is None else (">budget" if math.isinf(median) else int(round(median)))
        ),
        "wall_time": None if run.wall_time is None else round(run.wall_time, 3),
        "key": run.key[:12],
    }


def _runs_table(stored: list[Any], db: Path, held: int) -> Any:
    """The text table of ``runs``: a column per distinguishing setting, the rest in a note."""
    from csqbound.experiments.store import distinguishing_settings
    from csqbound.report.tables import Table

    varying, common = distinguishing_settings(stored)
    records = [_run_record(r, varying) for r in stored]
    for rec in records:  # a setting left to its default is stored as null
        rec.update({k: "default" for k in varying if rec[k] is None})
    columns = ("target", "domain", "d", "seed", *varying, "status", "samples_to_learn")
    columns += ("wall_time", "key")
    title = f"{len(records)} runs in {db} (samples_to_learn: median over replicas)"
    table = Table.from_records(records, columns, title=title)
    shown = ", ".join(f"{k}={'default' if v is None else v}" for k, v in common.items())
    notes = [f"Settings shared by every run shown: {shown}." if shown else ""]
    if varying:
        notes.append(f"Settings that differ between runs: {', '.join(varying)}.")
    if any(r["samples_to_learn"] is None for r in records):
        notes.append(
            "samples_to_learn is blank for a run whose replicas all diverged or that failed "
            "(status error): no replica has a time to learn, not even a censored one."
        )
    if not stored:
        notes = [
            f"No run of the {held} in {db} matches --target / --loss."
            if held
            else f"The store {db} holds no runs (e.g. a sweep that failed before its first run)."
        ]
    return Table(table.columns, table.rows, title=title, notes=tuple(n for n in notes if n))


def _runs_csv(stored: list[Any]) -> str:
    """``runs`` as CSV: every setting a column, one count column per status."""
    import csv
    import io

    from csqbound.experiments.store import distinguishing_settings

    varying, common = distinguishing_settings(stored)
    settings = (*common, *varying)
    records = [_run_record(r, settings) for r in stored]
    columns = ("target", "domain", "d", "seed", *settings)
    columns += (*(() if "replicas" in settings else ("replicas",)), *RUN_STATUSES)
    columns += ("samples_to_learn", "wall_time", "key")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


RunsFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table, json or csv.",
        **_choices(("table", "json", "csv")),
    ),
]


@app.command()
@guarded
def runs(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="SQLite results store to list (default: the newest of csqbound.sqlite, "
            "csqbound-report/runs.sqlite and csqbound-calibration/runs.sqlite).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Only runs of this target, compared after parsing ('x1 * x2' finds x1*x2); "
            "a catalog name works too.",
            show_default=False,
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="Only runs trained under this loss (runs stored without one are squared).",
            show_default=False,
            **_choices(LOSSES),
        ),
    ] = None,
    fmt: RunsFormatOpt = "table",
) -> None:
    """List the runs stored in a results store."""
    from csqbound.experiments.store import Store
    from csqbound.report.tables import render, to_json

    if fmt not in ("table", "json", "csv"):
        msg = f"unknown format {fmt!r} for runs: use table, json or csv"
        raise CsqboundError(msg)
    expression = None if target is None else _catalog_expression(target)
    if loss is not None:
        from csqbound.sgd.losses import check_loss

        check_loss(loss)
    path = _find_store(db)
    with Store(path, create=False) as store:
        stored = store.runs(expression=expression, loss=loss)
        held = len(store)
    if not stored:
        what = "match --target / --loss" if held else "are stored there"
        typer.echo(f"csqbound: no runs in {path} {what}", err=True)
    if fmt == "json":
        _emit(to_json([r.to_dict() for r in stored]))
    elif fmt == "csv":
        _emit(_runs_csv(stored))
    else:
        _emit(render(_runs_table(stored, path, held), "table"))


@app.command()
@guarded
def report(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Suite TOML file (default: the built-in examples/default_suite.toml).",
            show_default=False,
        ),
    ] = None,
    out: OutOpt = REPORT_OUT,
    db: ReportDbOpt = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    pdf: PdfOpt = True,
    backend: SuiteBackendOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Theory table, verification sweep and fits for a suite of targets: LaTeX, figures, JSON."""
    from csqbound.report.suite import load_suite, with_backend

    suite = with_backend(load_suite(file), backend)
    _run_report(suite, out, db, workers, dask, pdf, quiet, table="verification")


@app.command()
@guarded
def calibrate(
    out: OutOpt = CALIBRATION_OUT,
    db: ReportDbOpt = None,
    workers: WorkersOpt = None,
    dask: DaskOpt = None,
    pdf: PdfOpt = True,
    backend: SuiteBackendOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run the built-in calibration suite (known SGD exponents and a negative control)."""
    from csqbound.report.suite import calibration_suite_path, load_suite, with_backend

    suite = with_backend(load_suite(calibration_suite_path()), backend)
    _run_report(suite, out, db, workers, dask, pdf, quiet, table="calibration")


def _run_report(
    suite: Any, out: Path, db: Path | None, workers: int | None, dask: str | None,
    pdf: bool, quiet: bool, *, table: str,
) -> None:  # fmt: skip
    """Build a report folder for ``suite`` and print its ``table`` and where things went."""
    from csqbound.report.pipeline import build_report, calibration_table, verification_table
    from csqbound.report.tables import render

    if out.exists() and not out.is_dir():
        msg = f"cannot write the report to {out}: it exists and is not a folder"
        raise CsqboundError(msg)
    with _sweep_progress(quiet) as progress:  # build_report checks every input, then creates out
        result = build_report(
            suite, out, store=db, workers=workers, dask=dask, progress=progress, compile_pdf=pdf
        )
    typer.echo(
        f"csqbound {table}: {len(suite.targets)} targets from {suite.source}; written to {out}/",
        err=True,
    )
    maker = calibration_table if table == "calibration" else verification_table
    _emit(render(maker(result.data["targets"]), "table"))
    sweep = result.data["sweep"]
    lines = [
        f"report:  {result.tex}"
        + (f"  ->  {result.pdf}" if result.pdf else f"  ({result.pdf_note})"),
        f"tables:  {', '.join(str(p) for p in result.tables)}",
        f"figures: {len(result.figures)} files in {out / 'figures'}",
        f"data:    {result.json}",
        f"store:   {result.store}  (a rerun reuses its runs; list them: csqbound runs "
        f"--db {result.store})",
        f"sweep:   {sweep['done']} runs now, {sweep['skipped']} reused, "
        f"{sweep['failed']} failed; wall time {result.wall_time:.1f} s",
    ]
    _emit("\n".join(lines))


def _terminate_on_sigterm() -> Any:
    """Treat SIGTERM like Ctrl-C, so sweeps stop their workers and stored runs stay stored.

    Returns the previous handler (``None`` outside the main thread).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``csqbound`` script; returns the exit code.

    Usage errors (unknown command or option, missing argument) become one line on
    stderr and exit code 2, like every other bad input.
    """
    import warnings

    # numpy's RuntimeWarnings (e.g. sqrt of a negative number while tabulating a target)
    # would print source lines on stderr; the resulting NaN is reported as one error line.
    warnings.simplefilter("ignore", RuntimeWarning)
    # ScalingWarning notes and matplotlib's user warnings are shown in the output already
    warnings.simplefilter("ignore", UserWarning)
    previous = _terminate_on_sigterm()
    try:
        return _run(argv)
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        result = app(args=argv, standalone_mode=False, prog_name="csqbound")
    except (typer.Exit, typer.Abort) as done:
        return int(getattr(done, "exit_code", 130) or 0)
    except BrokenPipeError:
        return _closed_stdout()
    except Exception as err:  # noqa: BLE001 - click's (or typer's vendored click's) usage errors
        if hasattr(err, "format_message"):
            typer.echo(_error_line(err.format_message()), err=True)
            return int(getattr(err, "exit_code", 2) or 2)
        exit_code = getattr(err, "exit_code", None)
        if isinstance(exit_code, int):
            return exit_code
        typer.echo(_error_line(f"internal error ({type(err).__name__}: {err})"), err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
