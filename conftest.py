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


NO_TORCH = "torch is not installed (pip install 'csqbound[torch]'; torch==2.13.0 CPU works)"
NO_CUPY = "cupy is not installed or has no GPU (pip install 'csqbound[gpu]' on a CUDA machine)"


def _has_cupy() -> bool:
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 - any CUDA failure means: no usable GPU
        return False


def _backend_matrix() -> list[object]:
    """numpy and array_api_strict always; torch and cupy where installed (skipped, saying why)."""
    import importlib.util

    has_torch = importlib.util.find_spec("torch") is not None
    return [
        "numpy",
        "array_api_strict",
        pytest.param("torch", marks=pytest.mark.skipif(not has_torch, reason=NO_TORCH)),
        pytest.param("cupy", marks=pytest.mark.skipif(not _has_cupy(), reason=NO_CUPY)),
    ]


BACKEND_MATRIX = _backend_matrix()


@pytest.fixture(params=BACKEND_MATRIX)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of every array backend the SGD code must run on (the ``xp`` matrix)."""
    return request.param
