"""Shared pytest configuration (tests, proofs_checks, doctests): hypothesis profiles.

``CSQBOUND_HYPOTHESIS_PROFILE=ci`` (the default) is deterministic and sized for
CI; ``CSQBOUND_HYPOTHESIS_PROFILE=dev`` draws many more examples at random, for
local bug hunting.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from csqbound.testing.profiles import register_profiles

register_profiles()  # the profiles csqbound.testing gives its users; ci and dev are them
settings.register_profile("ci", settings.get_profile("csqbound"))
settings.register_profile("dev", settings.get_profile("csqbound-dev"))
settings.load_profile(os.environ.get("CSQBOUND_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _text_table_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text tables follow the terminal (COLUMNS off a terminal): fix it, so no test depends on
    the runner's terminal or on another test's environment; width tests set their own."""
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def compile_latex(tmp_path):
    """Compile a standalone LaTeX document around a body; skip, saying why, without pdflatex."""
    import shutil
    import subprocess

    from csqbound.report.tables import latex_document

    def run(body: str) -> subprocess.CompletedProcess[str]:
        if shutil.which("pdflatex") is None:
            pytest.skip("pdflatex is not installed (.ci/run installs texlive-latex-recommended)")
        (tmp_path / "doc.tex").write_text(latex_document(body))
        return subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def _backend_matrix() -> list[object]:
    """Every backend of csqbound.sgd.backend.BACKEND_TABLE; one that cannot run here is skipped,
    saying why (its package or its GPU is missing)."""
    from csqbound.sgd.backend import backend_matrix

    return [
        pytest.param(name, marks=pytest.mark.skipif(why is not None, reason=why or ""), id=name)
        for name, why in backend_matrix()
    ]


BACKEND_MATRIX = _backend_matrix()


@pytest.fixture(params=BACKEND_MATRIX)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of every array backend the SGD code must run on (the ``xp`` matrix)."""
    return request.param
