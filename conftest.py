"""Shared pytest configuration (tests, proofs_checks, doctests): hypothesis profiles.

``CSQBOUND_HYPOTHESIS_PROFILE=ci`` (the default) is deterministic and sized for
CI; ``CSQBOUND_HYPOTHESIS_PROFILE=dev`` draws many more examples at random, for
local bug hunting.
"""

from __future__ import annotations

import os

import pytest

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("CSQBOUND_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def compile_latex(tmp_path):
    """Compile a standalone document around a LaTeX body with pdflatex; skip, saying why, without it."""
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
