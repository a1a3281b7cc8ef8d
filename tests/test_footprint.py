"""The memory estimate of a run, against the peak Python actually allocates."""

from __future__ import annotations

import tracemalloc

import pytest

import csqbound
from csqbound import limits
from csqbound.errors import ParameterError
from csqbound.experiments.sweep import make_grid
from csqbound.sgd.footprint import check_run_size, run_bytes


@pytest.mark.parametrize(("d", "width", "replicas", "batch"), [(256, 64, 4, 8), (64, 512, 2, 8)])
def test_estimate_is_within_a_factor_of_three_of_the_measured_peak(d, width, replicas, batch):
    tracemalloc.start()
    try:
        csqbound.train("x1*x2", d=d, width=width, replicas=replicas, batch=batch,
                       samples=4000, stop_loss=None)  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = run_bytes(d=d, width=width, replicas=replicas, batch=batch, test_size=4096,
                    dtype="float32")  # fmt: skip
    assert peak / 3 <= est <= 3 * peak, (est, peak)


def test_estimate_grows_with_every_size_and_doubles_in_float64():
    base = {"d": 128, "width": 64, "replicas": 8, "batch": 8, "test_size": 4096}
    b32 = run_bytes(**base, dtype="float32")
    assert run_bytes(**base, dtype="float64") == 2 * b32
    for key in ("d", "width", "replicas", "test_size"):
        assert run_bytes(**{**base, key: 100 * base[key]}, dtype="float32") > b32


@pytest.mark.parametrize(
    ("sizes", "needle"),
    [
        ({"width": 10**8}, "MAX_RUN_BYTES"),
        ({"replicas": 10**9}, "MAX_RUN_BYTES"),
        ({"d": 10**9}, "MAX_RUN_BYTES"),
        ({"samples": limits.MAX_SAMPLES + 1}, "MAX_SAMPLES"),
    ],
)
def test_absurd_runs_are_refused_before_any_allocation(sizes, needle):
    kw = {"d": 16, "width": 64, "replicas": 8, "batch": 8, "test_size": 4096,
          "samples": 10**5, "dtype": "float32", **sizes}  # fmt: skip
    with pytest.raises(ParameterError, match=needle):
        check_run_size(**kw)
    train_kw = {k: v for k, v in kw.items() if k != "test_size"}
    with pytest.raises(ParameterError, match=needle):
        csqbound.train("x1", **train_kw)


def test_grids_are_bounded_before_they_are_built():
    with pytest.raises(ParameterError, match="MAX_GRID_RUNS"):
        make_grid("x1", [8, 16], 10**9)
    with pytest.raises(ParameterError, match="MAX_RUN_BYTES"):
        make_grid("x1", [8], 2, {"width": 10**8})
