"""``--help`` and ``docs/cli.md`` say the same thing: defaults, choices, and the numbers in
help texts (tests/test_docs.py checks that every option is documented at all)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from csqbound.cli import app

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
CHOICES = re.compile(r"^\[([^\]]+)\]$")


def sections() -> dict[str, str]:
    text = CLI_MD.read_text(encoding="utf-8")
    parts = re.split(r"^## `csqbound ([a-z-]+)`[ \t]*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def commands() -> dict[str, Any]:
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def doc_row(section: str, param: Any) -> tuple[str, str]:
    """(default cell, meaning cell) of the option's row in the section's table."""
    names = [*param.opts, *param.secondary_opts]
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        first = set(re.findall(r"`(-[-\w]+)`", cells[0]))
        if first & set(names) and len(cells) >= 3:
            return cells[1], " | ".join(cells[2:])
    pytest.fail(f"no table row for {names[-1]} in docs/cli.md")


def shown_default(param: Any) -> str | None:
    """The default as --help shows it (None when it shows none)."""
    if param.is_flag:
        if param.secondary_opts:
            return param.opts[0] if param.default else param.secondary_opts[0]
        return "off" if not param.default else "on"
    if param.default is None or not param.show_default:
        return None
    return str(param.default)


def option_params() -> list[tuple[str, Any]]:
    return [
        (name, p)
        for name, cmd in sorted(commands().items())
        for p in cmd.params
        if p.param_type_name == "option" and p.name != "help"
    ]


PARAMS = option_params()


@pytest.mark.parametrize(
    ("command", "param"), PARAMS, ids=[f"{c} {p.opts[-1]}" for c, p in PARAMS]
)
def test_the_documented_default_is_the_real_one(command: str, param: Any) -> None:
    default, _ = doc_row(sections()[command], param)
    shown = shown_default(param)
    if shown is None:
        # no default in --help: the docs say in words what happens (e.g. "all cores")
        assert default, f"{command} {param.opts[-1]}: empty default cell"
        return
    expected = shown if shown in ("off", "on") else f"`{shown}`"
    assert expected in default, (
        f"csqbound {command} {param.opts[-1]}: --help says the default is {shown!r}, "
        f"docs/cli.md says {default!r}"
    )


@pytest.mark.parametrize(
    ("command", "param"), PARAMS, ids=[f"{c} {p.opts[-1]}" for c, p in PARAMS]
)
def test_listed_choices_are_documented(command: str, param: Any) -> None:
    match = CHOICES.match(param.metavar or "")
    if match is None:
        return
    default, meaning = doc_row(sections()[command], param)
    row = default + " " + meaning
    for choice in match.group(1).split("|"):
        if choice.isupper():  # a placeholder such as MULTIPLE
            continue
        assert f"`{choice}`" in row, (
            f"csqbound {command} {param.opts[-1]} accepts {choice!r} (--help), "
            "which docs/cli.md does not name in its row"
        )


@pytest.mark.parametrize(
    ("command", "param"), PARAMS, ids=[f"{c} {p.opts[-1]}" for c, p in PARAMS]
)
def test_numbers_of_a_worded_default_are_in_the_help(command: str, param: Any) -> None:
    # an option without a fixed default (--lr: 0.5 boolean, 0.1 gaussian) says the
    # same numbers in --help as in docs/cli.md
    if shown_default(param) is not None:
        return
    default, _ = doc_row(sections()[command], param)
    for number in re.findall(r"`(\d+(?:\.\d+)?)`", default):
        assert number in (param.help or ""), (
            f"csqbound {command} {param.opts[-1]}: docs/cli.md gives the default {number}, "
            f"its --help ({param.help!r}) does not"
        )


def test_help_lists_the_choices(capsys) -> None:
    from csqbound.cli import main

    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    assert "[boolean|gaussian]" in text
    assert "[squared|absolute|huber|logcosh]" in text
    assert "[exponent|1/d]" in text
    assert "[table|json|markdown|latex]" in text


def test_the_comparison_can_fail() -> None:
    (_, param) = next((c, p) for c, p in PARAMS if c == "train" and p.opts[-1] == "--width")
    section = "| `--width` | `65` | hidden units |\n"
    default, _ = doc_row(section, param)
    assert f"`{shown_default(param)}`" not in default
