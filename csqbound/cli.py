"""The ``csqbound`` command line (typer).

Data goes to stdout, progress and errors to stderr. Exit codes: 0 success, 2 bad
input (one line on stderr, never a traceback), 1 an unexpected failure.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from csqbound.errors import CsqboundError

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Leap complexity, CSQ lower bounds and SGD scaling checks for sparse targets.",
)

F = TypeVar("F", bound=Callable[..., Any])

DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain",
        "-D",
        help="Input distribution: boolean ({-1,1}^d, the default) or gaussian (N(0, I_d)); "
        "a catalog name brings its own domain.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Output format: table, json, markdown or latex.")
]
ExprArg = Annotated[
    str,
    typer.Argument(
        help="Target expression in x1..xP, e.g. 'x1 + x1*x2*x3' or 'He3((x1 - x2)/sqrt(2))', "
        "or the name of a catalog entry (see `csqbound zoo`).",
        show_default=False,
    ),
]


def _fail(message: str, code: int) -> None:
    typer.echo(f"csqbound: error: {message}", err=True)
    raise typer.Exit(code)


def guarded(func: F) -> F:
    """Turn a CsqboundError into one stderr line and exit code 2; anything else into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except CsqboundError as err:
            _fail(str(err).splitlines()[0] if str(err) else type(err).__name__, 2)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as err:  # noqa: BLE001 - the CLI must never show a traceback
            _fail(f"internal error ({type(err).__name__}: {err}); please report it", 1)
        return None

    return wrapper  # type: ignore[return-value]


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _target(expr: str, domain: str | None) -> Any:
    """Parse EXPR, or look it up in the catalog when it is a catalog name."""
    from csqbound.catalog import catalog_entry, catalog_names
    from csqbound.monomial import check_domain
    from csqbound.target import Target

    if expr.strip() in catalog_names():
        entry = catalog_entry(expr.strip())
        if domain is not None and check_domain(domain) != entry.domain:
            msg = f"catalog entry {entry.name!r} is a {entry.domain} target, not {domain}"
            raise CsqboundError(msg)
        return Target.from_text(entry.expression, entry.domain)
    return Target.from_text(expr, check_domain(domain or "boolean"))


@app.command()
@guarded
def expand(
    expr: ExprArg,
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
    max_degree: Annotated[
        int, typer.Option(help="Gaussian quadrature only: largest total degree computed.")
    ] = 8,
) -> None:
    """Expand EXPR in the Walsh (boolean) or Hermite (gaussian) basis."""
    from csqbound.expansion import expand as do_expand
    from csqbound.report.summary import expansion_summary, expansion_table
    from csqbound.report.tables import check_format, render, to_json

    fmt = check_format(fmt)
    target = _target(expr, domain)
    summary = expansion_summary(target, do_expand(target, max_degree=max_degree))
    _emit(to_json(summary) if fmt == "json" else render(expansion_table(summary), fmt))


@app.command()
@guarded
def leap(expr: ExprArg, domain: DomainOpt = None, fmt: FormatOpt = "table") -> None:
    """The leap of EXPR: greedy witness order, jumps, stages, MSP and cover."""
    from csqbound.report.summary import leap_summary, leap_tables
    from csqbound.report.tables import check_format, render, to_json

    fmt = check_format(fmt)
    summary = leap_summary(_target(expr, domain))
    if fmt == "json":
        _emit(to_json(summary))
        return
    _emit("\n\n".join(render(t, fmt) for t in leap_tables(summary)))


@app.command()
@guarded
def graph(
    expr: ExprArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Image file to write (.png, .svg or .pdf).")
    ],
    domain: DomainOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Draw the support graph of EXPR (monomials, coordinates, witness DAG) by stage."""
    from csqbound.report.tables import Table, check_format, render, to_json
    from csqbound.support import SupportGraph

    fmt = check_format(fmt)
    target = _target(expr, domain)
    sg = SupportGraph.build(target.expression, domain=target.domain)
    path = sg.draw(out)
    g = sg.to_networkx()
    info = {
        "expression": expr,
        "out": str(path),
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "leap": sg.leap.leap,
    }
    if fmt == "json":
        _emit(to_json(info))
    else:
        _emit(render(Table(tuple(info), (tuple(info.values()),), title="Support graph"), fmt))


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
) -> None:
    """Stage-wise CSQ lower bound for learning EXPR on hidden coordinates (THEORY section 5)."""
    from csqbound.csq import csq_bound
    from csqbound.report.summary import csq_tables
    from csqbound.report.tables import check_format, render, to_json

    fmt = check_format(fmt)
    target = _target(expr, domain)
    data = csq_bound(target, d=d, tau=tau, domain=target.domain).to_dict()
    data = {"expression": str(target), **data}
    if fmt == "json":
        _emit(to_json(data))
        return
    _emit("\n\n".join(render(t, fmt) for t in csq_tables(data)))


@app.command()
@guarded
def zoo(
    fmt: FormatOpt = "table",
    d: Annotated[
        int, typer.Option("--d", help="Dimension at which CSQ bounds are evaluated.")
    ] = 64,
) -> None:
    """The catalog of named targets with their leaps, CSQ exponent and predicted SGD exponent."""
    from csqbound.report.summary import zoo_records, zoo_table
    from csqbound.report.tables import check_format, render, to_json

    fmt = check_format(fmt)
    records = zoo_records(d=d)
    _emit(to_json(records) if fmt == "json" else render(zoo_table(records), fmt))


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
    width: Annotated[int, typer.Option(help="Hidden units N.")] = 64,
    replicas: Annotated[int, typer.Option(help="Independent replicas trained side by side.")] = 8,
    batch: Annotated[int, typer.Option(help="Fresh samples per step and replica.")] = 8,
    samples: Annotated[int, typer.Option(help="Sample budget per replica.")] = 1_000_000,
    lr: Annotated[
        float | None,
        typer.Option(
            help="eta0 (step eta0/d); default 0.5 boolean, 0.1 gaussian.", show_default=False
        ),
    ] = None,
    activation: Annotated[str, typer.Option(help="relu, softplus or shifted_softplus.")] = "relu",
    backend: Annotated[str, typer.Option(help="Array backend: numpy, torch or cupy.")] = "numpy",
    dtype: Annotated[str, typer.Option(help="float32 or float64.")] = "float32",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).")] = 0,
    stop_loss: Annotated[
        str,
        typer.Option(
            help="Stop a replica at test loss <= this * Var f; 'none' trains to the budget."
        ),
    ] = "0.05",
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a figure (.png, .pdf or .svg): loss with plateaus, coefficient paths."
        ),
    ] = None,
    fmt: FormatOpt = "table",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train two-layer networks by online SGD on EXPR and report learning times and plateaus."""
    from csqbound.report.summary import train_tables
    from csqbound.report.tables import check_format, render, to_json
    from csqbound.sgd.train import train as do_train

    fmt = check_format(fmt)
    target = _target(expr, domain)
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        msg = f"cannot plot to {str(plot)!r}: the file name must end in .png, .pdf or .svg"
        raise CsqboundError(msg)
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
    }
    if quiet or not sys.stderr.isatty():
        run = do_train(target, target.domain, **kwargs)  # type: ignore[arg-type]
    else:
        run = _train_with_progress(do_train, target, kwargs)
    if plot is not None:
        from csqbound.report.plots import plot_run

        plot_run(run, plot)
        typer.echo(f"csqbound: figure written to {plot}", err=True)
    if fmt == "json":
        _emit(to_json({"expression": str(target), **run.to_dict()}))
        return
    _emit("\n\n".join(render(t, fmt) for t in train_tables(run)))


def _train_with_progress(do_train: Callable[..., Any], target: Any, kwargs: dict[str, Any]) -> Any:
    """Run ``train`` under a rich progress bar on stderr (ETA, samples/s, current loss)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("[bold]train[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("samples"),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("loss/Var f {task.fields[loss]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("train", total=kwargs["samples"], loss="-")

        def update(done: int, total: int, loss: float) -> None:
            bar.update(task, completed=done, total=total, loss=f"{loss:.3g}")

        return do_train(target, target.domain, progress=update, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``csqbound`` script; returns the exit code.

    Usage errors (unknown command or option, missing argument) become one line on
    stderr and exit code 2, like every other bad input.
    """
    try:
        result = app(args=argv, standalone_mode=False, prog_name="csqbound")
    except (typer.Exit, typer.Abort) as done:
        return int(getattr(done, "exit_code", 130) or 0)
    except Exception as err:  # noqa: BLE001 - click's (or typer's vendored click's) usage errors
        if hasattr(err, "format_message"):
            typer.echo(f"csqbound: error: {err.format_message()}", err=True)
            return int(getattr(err, "exit_code", 2) or 2)
        exit_code = getattr(err, "exit_code", None)
        if isinstance(exit_code, int):
            return exit_code
        typer.echo(f"csqbound: error: internal error ({type(err).__name__}: {err})", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
