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
    str, typer.Option("--domain", "-D", help="Input distribution: boolean ({-1,1}^d) or gaussian (N(0, I_d)).")
]
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Output format: table, json, markdown or latex.")
]
ExprArg = Annotated[
    str,
    typer.Argument(
        help="Target expression in x1..xP, e.g. 'x1 + x1*x2*x3' or 'He3((x1 - x2)/sqrt(2))'.",
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


def _target(expr: str, domain: str) -> Any:
    from csqbound.monomial import check_domain
    from csqbound.target import Target

    return Target.from_text(expr, check_domain(domain))


@app.command()
@guarded
def expand(
    expr: ExprArg,
    domain: DomainOpt = "boolean",
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
def leap(expr: ExprArg, domain: DomainOpt = "boolean", fmt: FormatOpt = "table") -> None:
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
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file to write (.png, .svg or .pdf).")],
    domain: DomainOpt = "boolean",
    fmt: FormatOpt = "table",
) -> None:
    """Draw the support graph of EXPR (monomials, coordinates, witness DAG) by stage."""
    from csqbound.report.tables import Table, check_format, render, to_json
    from csqbound.support import SupportGraph

    fmt = check_format(fmt)
    sg = SupportGraph.build(_target(expr, domain).expression, domain=domain)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``csqbound`` script; returns the exit code."""
    import click

    try:
        app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as done:
        return int(done.exit_code or 0)
    except click.exceptions.Abort:
        typer.echo("csqbound: error: aborted", err=True)
        return 130
    except click.exceptions.ClickException as err:
        typer.echo(f"csqbound: error: {err.format_message()}", err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
