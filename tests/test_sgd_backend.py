"""Tests of csqbound.sgd.backend: backend selection, transfers, host random streams."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csqbound.errors import BackendUnavailableError, CsqboundError, ParameterError
from csqbound.sgd.backend import (
    BACKENDS,
    asarray,
    backend_matrix,
    check_dtype,
    get_backend,
    sample_inputs,
    seed_sequences,
    to_numpy,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_CUPY = importlib.util.find_spec("cupy") is not None


def test_round_trip_through_every_backend(backend_name: str) -> None:
    name = backend_name
    be = get_backend(name)
    host = np.arange(12.0).reshape(3, 4) / 7
    for dtype in ("float32", "float64"):
        a = be.asarray(host, dtype)
        back = to_numpy(a)
        assert back.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(back, host.astype(dtype))
        assert a.dtype == be.dtype(dtype)


def test_asarray_copies_so_the_host_array_is_not_aliased() -> None:
    host = np.zeros(3)
    a = asarray(np, host, "float64")
    a += 1
    assert host.tolist() == [0.0, 0.0, 0.0]


def test_unknown_backend_is_a_csqbound_error() -> None:
    with pytest.raises(CsqboundError, match="unknown backend 'jax'"):
        get_backend("jax")
    assert BACKENDS == ("numpy", "numba", "cupy", "torch", "array_api_strict")


@pytest.mark.skipif(HAS_CUPY, reason="cupy is installed here; the error path needs it absent")
def test_missing_cupy_names_the_gpu_extra() -> None:
    with pytest.raises(BackendUnavailableError, match=r"pip install 'csqbound\[gpu\]'"):
        get_backend("cupy")


def test_missing_torch_names_the_torch_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import csqbound.sgd.backend as backend

    real = backend.importlib.import_module

    def no_torch(name: str, package: str | None = None) -> object:
        if name == "torch" or name.startswith("torch."):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(backend.importlib, "import_module", no_torch)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'csqbound\[torch\]'"):
        get_backend("torch")


def test_backend_error_is_one_line() -> None:
    with pytest.raises(CsqboundError) as info:
        get_backend("tensorflow")
    assert "\n" not in str(info.value)


def test_check_dtype() -> None:
    assert check_dtype("float32") == "float32"
    with pytest.raises(ParameterError, match="float16"):
        check_dtype("float16")


def test_boolean_inputs_are_balanced_signs() -> None:
    gens = seed_sequences(0, 4).data
    X = sample_inputs(gens, 50, 8, 33, "boolean", "float32")
    assert X.shape == (50, 4, 8, 33)
    assert X.dtype == np.float32
    assert set(np.unique(X).tolist()) == {-1.0, 1.0}
    # 52800 fair signs: the mean is within 5 standard deviations of 0
    assert abs(float(X.mean())) < 5 / np.sqrt(X.size)
    # coordinates uncorrelated: empirical correlation of two columns is small
    c = float(np.mean(X[..., 0] * X[..., 1]))
    assert abs(c) < 5 / np.sqrt(X[..., 0].size)


def test_gaussian_inputs_have_unit_variance() -> None:
    gens = seed_sequences(1, 2).data
    X = sample_inputs(gens, 40, 8, 16, "gaussian", "float64")
    assert abs(float(X.mean())) < 5 / np.sqrt(X.size)
    assert abs(float(X.var()) - 1) < 5 * np.sqrt(2 / X.size)


@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 70),
    st.sampled_from(["boolean", "gaussian"]),
)
def test_streams_do_not_depend_on_the_chunking(
    s1: int, s2: int, batch: int, d: int, domain: str
) -> None:
    a = seed_sequences(5, 2).data
    b = seed_sequences(5, 2).data
    whole = sample_inputs(a, s1 + s2, batch, d, domain, "float32")
    parts = np.concatenate(
        [
            sample_inputs(b, s1, batch, d, domain, "float32"),
            sample_inputs(b, s2, batch, d, domain, "float32"),
        ]
    )
    np.testing.assert_array_equal(whole, parts)


def test_replica_streams_do_not_depend_on_the_number_of_replicas() -> None:
    few = sample_inputs(seed_sequences(9, 2).data, 3, 4, 10, "boolean")
    many = sample_inputs(seed_sequences(9, 6).data, 3, 4, 10, "boolean")
    np.testing.assert_array_equal(few, many[:, :2])
    assert not np.array_equal(many[:, 0], many[:, 1])


def test_streams_are_independent() -> None:
    plan = seed_sequences(3, 2)
    draws = [g.random() for g in (plan.test, plan.probes, *plan.init, *plan.data)]
    assert len(set(draws)) == len(draws)
    with pytest.raises(ParameterError):
        seed_sequences(3, 0)


def test_boolean_signs_are_the_generators_bits_least_significant_first() -> None:
    """Pins the bit -> sign map (a set bit is -1), so a faster conversion keeps the stream."""
    X = sample_inputs(seed_sequences(4, 2).data, 3, 2, 40, "boolean", "float64")
    for r, g in enumerate(seed_sequences(4, 2).data):
        words = g.bit_generator.random_raw(3 * 2).reshape(3, 2)  # ceil(80 / 64) = 2 per step
        for step in range(3):
            bits = [(int(words[step, i // 64]) >> (i % 64)) & 1 for i in range(80)]
            np.testing.assert_array_equal(X[step, r].ravel(), 1.0 - 2.0 * np.array(bits))


@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_replica_order_is_the_same_numbers_transposed(domain: str, dtype: str) -> None:
    steps = sample_inputs(seed_sequences(2, 3).data, 5, 4, 17, domain, dtype)
    replicas = sample_inputs(seed_sequences(2, 3).data, 5, 4, 17, domain, dtype, order="replica")
    assert replicas.shape == (3, 5, 4, 17)
    assert replicas.flags.c_contiguous
    assert replicas.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(replicas, steps.swapaxes(0, 1))
    with pytest.raises(ParameterError, match="order"):
        sample_inputs(seed_sequences(2, 3).data, 5, 4, 17, domain, dtype, order="rows")  # type: ignore[arg-type]


def test_asarray_without_copy_hands_numpy_arrays_over() -> None:
    host = np.zeros(3, dtype=np.float32)
    be = get_backend("numpy")
    assert be.asarray(host, "float32", copy=False) is host
    assert be.asarray(host, "float64", copy=False) is not host  # a conversion is a copy
    assert be.asarray(host, "float32") is not host


# -- the one backend table -------------------------------------------------------------------
def test_the_table_is_the_one_list_of_backends() -> None:
    from typing import get_args

    from csqbound.sgd.backend import BACKEND_TABLE, BackendName

    assert tuple(BACKEND_TABLE) == BACKENDS == get_args(BackendName)
    assert all(name == spec.name for name, spec in BACKEND_TABLE.items())
    assert BACKEND_TABLE["cupy"].extra == "gpu"


def test_the_sweep_the_help_and_the_matrix_follow_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import csqbound.sgd.backend as backend
    from csqbound.experiments.sweep import check_settings

    row = backend.BACKEND_TABLE["numpy"]
    for name in BACKENDS:
        assert check_settings({"backend": name})["backend"] == name
        assert f"{name} (" in backend.backend_help()
    assert [name for name, _ in backend.backend_matrix()] == list(BACKENDS)
    with pytest.raises(CsqboundError, match="unknown backend 'jax': use one of numpy, numba, cupy"):
        check_settings({"backend": "jax"})
    # a row added to the table reaches the sweep's check, the help and the matrix
    monkeypatch.setattr(backend, "BACKENDS", (*BACKENDS, "numpy2"))
    monkeypatch.setattr(backend, "BACKEND_TABLE", {**backend.BACKEND_TABLE, "numpy2": row})
    assert check_settings({"backend": "numpy2"})["backend"] == "numpy2"
    assert [name for name, _ in backend.backend_matrix()][-1] == "numpy"  # the row's own name
    assert backend.get_backend("numpy2").name == "numpy"


def test_a_missing_package_is_a_skip_reason_naming_the_extra() -> None:
    from csqbound.sgd.backend import BACKEND_TABLE, BackendSpec

    spec = BackendSpec("torch", "no_such_package_here", "torch", "x", BACKEND_TABLE["torch"].load)
    assert spec.missing() == "no_such_package_here is not installed (pip install 'csqbound[torch]')"
    assert BACKEND_TABLE["numpy"].missing() is None
    assert (dict(backend_matrix())["torch"] is None) == HAS_TORCH


def test_the_cli_backend_help_lists_every_backend() -> None:
    from typer.testing import CliRunner

    from csqbound.cli import app

    out = CliRunner().invoke(app, ["train", "--help"], terminal_width=400).output
    for name in BACKENDS:
        assert name in out
