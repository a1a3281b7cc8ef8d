"""``docs/notebook.ipynb`` runs from top to bottom and shows what it says (the slow step).

Needs the test extra's ``nbclient``, ``nbformat`` and ``ipykernel``; without them the
test is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"

pytestmark = pytest.mark.slow


def _text(output: Any) -> str:
    return str(output.get("text") or output.get("data", {}).get("text/plain", ""))


@pytest.fixture(scope="module")
def executed() -> list[str]:
    """The text of every code cell's outputs, after running the notebook in a fresh kernel."""
    nbclient = pytest.importorskip(
        "nbclient", reason="the notebook test needs nbclient (test extra)"
    )
    nbformat = pytest.importorskip("nbformat", reason="the notebook test needs nbformat")
    pytest.importorskip("ipykernel", reason="the notebook test needs ipykernel (test extra)")
    from jupyter_client.kernelspec import NoSuchKernel

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel imports this checkout of csqbound, not whatever is installed
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=600, kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        )  # fmt: skip
        client.execute()
    except NoSuchKernel as exc:
        pytest.skip(f"no python3 Jupyter kernel: {exc}")
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    for cell in cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"cell {cell.source[:60]!r} raised {errors[0].get('ename')}"
    return ["\n".join(_text(o) for o in cell.outputs) for cell in cells]


def test_the_notebook_prints_the_leap(executed: list[str]) -> None:
    assert "leap = 2, msp = False, stages = [['x1'], ['x1*x2*x3']]" in executed[2]
    assert executed[2].rstrip().endswith(")")  # the LeapResult's one-line repr
    assert "LeapResult(leap=2, msp=False" in executed[2]


def test_the_notebook_shows_the_expansion_and_its_frame(executed: list[str]) -> None:
    assert executed[0].startswith("Expansion(domain='boolean', variables=3, terms=2")
    assert "coefficient_float" in executed[1]
    assert "x1*x2*x3" in executed[1]


def test_the_notebook_shows_the_bound_and_a_run(executed: list[str]) -> None:
    assert "grows as d^2; below one query: False" in executed[4]
    assert "statuses: ['ok']" in executed[5]
    assert "Run(target='x1 + x1*x2*x3'" in executed[5]
    assert "samples_to_learn" in executed[6]


def test_the_notebook_is_stored_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat", reason="needs nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
