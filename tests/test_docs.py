"""The reference docs cannot drift from the code.

* ``docs/cli.md`` has a section per registered command, every option of the
  command appears in it, and every option it mentions exists;
* ``docs/api.md`` documents every public name of ``csqbound``,
  ``csqbound.testing`` and ``csqbound.testing.strategies`` with a signature
  line whose parameters are the code's;
* ``csqbound.__all__`` is exactly the public names of the facade (STYLE.md);
* ``proofs_checks/README.md`` and ``python -m proofs_checks`` cover every check.
"""

from __future__ import annotations
import __future__

import ast
import inspect
import re
import types
from pathlib import Path

import pytest
import typer

import csqbound
import csqbound.testing
from csqbound.cli import app
from csqbound.testing import strategies as cst

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
API_MD = ROOT / "docs" / "api.md"
CHECKS_DIR = ROOT / "proofs_checks"

LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT_OPTION = re.compile(r"(?<![\w-])-[A-Za-z](?![\w-])")


# -- docs/cli.md --------------------------------------------------------------------------------
def cli_sections(text: str) -> dict[str, str]:
    """``{command: section text}`` for the headings ``## `csqbound COMMAND` ``.

    A section ends at the next level-2 heading of any kind (e.g. "Limits and errors").
    """
    parts = re.split(r"^## `csqbound ([a-z-]+)`[ \t]*$", text, flags=re.MULTILINE)
    return {
        parts[i]: re.split(r"^## ", parts[i + 1], maxsplit=1, flags=re.MULTILINE)[0]
        for i in range(1, len(parts), 2)
    }


def registered() -> dict[str, object]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def option_names(command: object) -> set[str]:
    names: set[str] = set()
    for param in command.params:  # type: ignore[attr-defined]
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def argument_names(command: object) -> list[str]:
    return [
        p.name.upper()
        for p in command.params  # type: ignore[attr-defined]
        if p.param_type_name == "argument"
    ]


def test_cli_md_has_a_section_for_every_command_and_no_other() -> None:
    sections = cli_sections(CLI_MD.read_text(encoding="utf-8"))
    commands = registered()
    missing = sorted(set(commands) - set(sections))
    assert not missing, (
        f"docs/cli.md has no section for the command(s) {missing}: add a heading "
        "'## `csqbound NAME`' with its options"
    )
    stale = sorted(set(sections) - set(commands))
    assert not stale, f"docs/cli.md documents command(s) {stale} that csqbound no longer has"


@pytest.mark.parametrize("name", sorted(registered()))
def test_cli_md_documents_every_option_of(name: str) -> None:
    section = cli_sections(CLI_MD.read_text(encoding="utf-8")).get(name)
    if section is None:
        pytest.fail(f"docs/cli.md has no section '## `csqbound {name}`'")
    command = registered()[name]
    real = option_names(command)
    mentioned = set(LONG_OPTION.findall(section)) | set(SHORT_OPTION.findall(section))
    undocumented = sorted(o for o in real if o not in mentioned)
    assert not undocumented, (
        f"`csqbound {name}` has option(s) {undocumented} that docs/cli.md does not mention "
        f"under its heading"
    )
    gone = sorted(o for o in mentioned if o not in real and o != "--help")
    assert not gone, (
        f"docs/cli.md documents option(s) {gone} under `csqbound {name}`, "
        "but the command has no such option"
    )
    for argument in argument_names(command):
        assert f"`{argument}`" in section, (
            f"docs/cli.md does not describe the argument {argument} of `csqbound {name}`"
        )


def test_the_cli_checks_can_fail() -> None:
    # a section that lost an option, or mentions a removed one, is caught
    command = registered()["train"]
    real = option_names(command)
    section = cli_sections(CLI_MD.read_text(encoding="utf-8"))["train"]
    assert "--seed" in real
    assert "--seed" in LONG_OPTION.findall(section)
    assert "--seed" not in LONG_OPTION.findall(section.replace("--seed", "seed"))
    assert "--no-such-option" not in real
    assert SHORT_OPTION.findall("`--domain`, `-D` and x1-x2, -1") == ["-D"]


# -- docs/api.md ----------------------------------------------------------------------------------
def api_sections(text: str) -> dict[str, str]:
    """``{module: section text}`` for the headings ``## module``."""
    parts = re.split(r"^## (csqbound[\w.]*)[ \t]*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def signature_line(section: str, name: str) -> str | None:
    """The backticked line that follows the heading ``#### `name` ``."""
    match = re.search(rf"^#### `{re.escape(name)}`[ \t]*\n+`([^`\n]+)`", section, re.MULTILINE)
    return match.group(1) if match else None


def documented_parameters(line: str, qualified: str) -> list[tuple[str, str]] | None:
    """``[(name, kind)]`` of ``qualified(params)`` in a signature line; ``None`` without parens."""
    head = line.removeprefix("class ")
    if not head.startswith(qualified):
        msg = f"signature line {line!r} does not start with {qualified}"
        raise AssertionError(msg)
    rest = head[len(qualified) :]
    if not rest.startswith("("):
        return None
    depth = 0
    for i, ch in enumerate(rest):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0:
            params = rest[1:i]
            break
    else:  # pragma: no cover - unbalanced parentheses
        msg = f"unbalanced parentheses in {line!r}"
        raise AssertionError(msg)
    args = ast.parse(f"def f({params}): pass").body[0].args  # type: ignore[attr-defined]
    out = [(a.arg, "positional") for a in args.posonlyargs + args.args]
    if args.vararg:
        out.append((args.vararg.arg, "var"))
    out += [(a.arg, "keyword") for a in args.kwonlyargs]
    if args.kwarg:
        out.append((args.kwarg.arg, "varkw"))
    return out


def code_parameters(obj: object) -> list[tuple[str, str]] | None:
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "positional",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.VAR_POSITIONAL: "var",
        inspect.Parameter.KEYWORD_ONLY: "keyword",
        inspect.Parameter.VAR_KEYWORD: "varkw",
    }
    return [(p.name, kinds[p.kind]) for p in sig.parameters.values()]


MODULES = {
    "csqbound": csqbound,
    "csqbound.testing": csqbound.testing,
    "csqbound.testing.strategies": cst,
}


def test_api_md_has_a_section_per_module() -> None:
    sections = api_sections(API_MD.read_text(encoding="utf-8"))
    assert set(MODULES) <= set(sections), f"docs/api.md needs sections {sorted(MODULES)}"


@pytest.mark.parametrize(
    ("module_name", "name"),
    [(m, n) for m, mod in MODULES.items() for n in mod.__all__],
)
def test_api_md_documents(module_name: str, name: str) -> None:
    section = api_sections(API_MD.read_text(encoding="utf-8"))[module_name]
    line = signature_line(section, name)
    assert line is not None, (
        f"docs/api.md has no entry '#### `{name}`' followed by a `signature` line "
        f"in its '## {module_name}' section"
    )
    qualified = f"{module_name}.{name}"
    obj = getattr(MODULES[module_name], name)
    documented = documented_parameters(line, qualified)
    description = section.split(line, 1)[1].lstrip("`").strip().split("\n\n")[0]
    assert description, f"{qualified}: no description line"
    assert not description.startswith("#"), f"{qualified}: no description line"
    if inspect.isfunction(obj):
        assert documented is not None, f"{qualified}: the signature line has no parameters"
    if documented is not None:
        assert documented == code_parameters(obj), (
            f"docs/api.md shows {qualified} with parameters {documented}, "
            f"the code has {code_parameters(obj)}"
        )


def test_the_api_checks_can_fail() -> None:
    assert documented_parameters("csqbound.f(a, b=1, *, c)", "csqbound.f") == [
        ("a", "positional"),
        ("b", "positional"),
        ("c", "keyword"),
    ]
    assert documented_parameters("csqbound.f(a, b=1, *, c)", "csqbound.f") != code_parameters(
        csqbound.leap
    )
    assert signature_line("#### `leap`\n\n`csqbound.leap(x)`\n", "cover") is None


# -- the facade ------------------------------------------------------------------------------------
def public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not isinstance(value, __future__._Feature)
    }


def test_all_is_exactly_the_public_facade() -> None:
    assert len(csqbound.__all__) == len(set(csqbound.__all__)), "duplicates in csqbound.__all__"
    assert set(csqbound.__all__) == public_names(csqbound), (
        "csqbound.__all__ and the names the facade imports differ: "
        f"{sorted(set(csqbound.__all__) ^ public_names(csqbound))}"
    )
    assert set(csqbound.testing.__all__) == public_names(csqbound.testing)


# -- proofs_checks ---------------------------------------------------------------------------
def check_modules() -> list[str]:
    return sorted(p.stem for p in CHECKS_DIR.glob("check_*.py"))


def test_proofs_checks_readme_and_runner_cover_every_check() -> None:
    from proofs_checks.__main__ import CHECKS

    readme = (CHECKS_DIR / "README.md").read_text(encoding="utf-8")
    modules = check_modules()
    assert modules, "no proofs_checks/check_*.py found"
    registered_names = {f"check_{c.name}" for c in CHECKS}
    assert registered_names == set(modules), (
        f"proofs_checks/__main__.py CHECKS {sorted(registered_names)} != modules {modules}"
    )
    for module in modules:
        assert f"## `{module}.py`" in readme, f"proofs_checks/README.md has no section for {module}"
        assert f"python -m proofs_checks.{module}" in readme
        assert (CHECKS_DIR / f"test_{module}.py").exists(), f"no pytest wrapper for {module}"
    for c in CHECKS:
        assert c.command == f"python -m proofs_checks.check_{c.name}"


def test_proofs_checks_runner_prints_a_table(capsys) -> None:
    from proofs_checks.__main__ import main

    assert main(["--only", "csq_inequality"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["check", "statement", "cases", "result", "seconds"]
    row = out[2]
    assert row.startswith("csq_inequality")
    assert "passed" in row
    assert out[-1].startswith("all 1 checks passed (")


def test_proofs_checks_runner_fails_on_a_failure(capsys, monkeypatch) -> None:
    import proofs_checks.__main__ as runner

    def broken() -> runner.Outcome:
        msg = "boom"
        raise RuntimeError(msg)

    fake = (
        runner.Check("fine", "1 = 1", "-", "-", lambda: runner.Outcome(2, 0, "two")),
        runner.Check("wrong", "1 = 2", "-", "-", lambda: runner.Outcome(5, 2, "five")),
        runner.Check("crash", "?", "-", "-", broken),
        runner.Check("empty", "?", "-", "-", lambda: runner.Outcome(0, 0, "")),
    )
    monkeypatch.setattr(runner, "CHECKS", fake)
    assert runner.main([]) == 1
    out = capsys.readouterr().out
    assert "FAILED (2 of 5)" in out
    assert "ERROR (RuntimeError: boom)" in out
    assert "FAILED (no case checked)" in out
    assert out.splitlines()[-1] == "FAILED: wrong, crash, empty"
    assert runner.main(["--only", "nope"]) == 2
    assert runner.main(["--list"]) == 0


def _readme_pytest_lines() -> list[str]:
    """The pytest lines of README's code blocks, as ``.ci/run`` extracts them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines, inside = [], False
    for line in readme.splitlines():
        if re.fullmatch(r"```(bash|sh|console|shell)?", line):
            inside = not inside
            continue
        if inside and "pytest" in line:
            lines.append(line.removeprefix("$ ").strip())
    return lines


def test_readme_test_command_is_the_fast_suite_and_ci_adds_the_slow_step() -> None:
    """README's test command leaves out the slow step; the slow step is the second pytest
    line, and .ci/run runs both lines (so CI runs every test)."""
    fast, slow, *rest = _readme_pytest_lines()
    assert not rest
    assert fast.endswith('python -m pytest -q -m "not slow" -n auto')
    assert slow == "python -m pytest -q -m slow"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "sed -n 1p" in ci
    assert "sed -n 2p" in ci
    # the documented-commands check and the cross-checks are in the slow step
    docs_commands = (ROOT / "tests" / "test_docs_commands.py").read_text(encoding="utf-8")
    assert "@pytest.mark.slow\n" in docs_commands
    assert "pytestmark = pytest.mark.slow" in (ROOT / "tests" / "test_theory_vs_sgd.py").read_text(
        encoding="utf-8"
    )


def test_no_facade_name_shadows_a_submodule() -> None:
    """``csqbound.<name>`` is one thing: no public name is also a module file of the package."""
    import pathlib

    root = pathlib.Path(csqbound.__file__).parent
    modules = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if p.is_dir()}
    assert not set(csqbound.__all__) & modules
