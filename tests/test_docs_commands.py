"""Every shell command shown in docs/*.md runs and exits 0 (the Python examples are doctests).

Each file's ``$ csqbound ...`` lines run in order in one fresh folder (so a
``runs`` line sees the store a ``verify`` line wrote), as ``python -m csqbound``
of this interpreter. ``my_suite.toml`` is the TOML block of the file itself
(the tutorial shows it). Two substitutions, both said here: ``--dask
tcp://scheduler:8786`` (a cluster the reader has) becomes ``--dask local:2``
(dropped without Dask); ``pip`` lines are not run (CI installs the package).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HAS_DASK = importlib.util.find_spec("distributed") is not None


def shell_lines(text: str) -> list[str]:
    """The ``$ csqbound ...`` lines of the console blocks of a markdown text."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = line.strip() in ("```console", "```bash", "```sh") and not inside
            continue
        if inside and line.startswith("$ csqbound"):
            lines.append(line[2:].split("  #")[0].strip())
    return lines


def toml_block(text: str) -> str | None:
    found = re.search(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    return found.group(1) if found else None


def test_shell_lines_are_found():
    assert shell_lines(
        "```console\n$ csqbound zoo   # all\n$ pip install .\n```\n$ csqbound x"
    ) == ["csqbound zoo"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cli.md", "tutorial.md"])
def test_every_documented_command_runs(name, tmp_path):
    text = (DOCS / name).read_text()
    suite = toml_block(text) or toml_block((DOCS / "tutorial.md").read_text())
    assert suite is not None
    (tmp_path / "my_suite.toml").write_text(suite)
    lines = shell_lines(text)
    assert lines, f"no commands found in {name}"
    # the package under test, installed or not
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    failures = []
    for line in lines:
        if "tcp://scheduler" in line:
            # a cluster the reader has: a local one here, or none without Dask (the same
            # sweep then runs on local processes, so later lines still find its store)
            if HAS_DASK:
                line = line.replace("tcp://scheduler:8786", "local:2")
            else:
                line = line.replace("--dask tcp://scheduler:8786", "")
        command = line.replace("csqbound", f"{shlex.quote(sys.executable)} -m csqbound", 1)
        done = subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            env=env,
        )
        if done.returncode != 0:
            failures.append(f"{line}\n  -> exit {done.returncode}: {done.stderr.strip()[-500:]}")
    assert not failures, "\n".join(failures)
