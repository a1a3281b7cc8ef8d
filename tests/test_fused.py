"""The numba backend's block kernel against the array-API reference (csqbound/sgd/fused.py).

The kernel is checked in two forms: compiled (where numba is installed; the test
extra installs it) and as its plain-Python source, which runs everywhere, so its
arithmetic is tested even without numba.
"""

from __future__ import annotations

import sys
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from csqbound.errors import BackendUnavailableError
from csqbound.sgd import fused
from csqbound.sgd.backend import get_backend
from csqbound.sgd.network import Params, init_params, sgd_block
from csqbound.sgd.train import train

HAS_NUMBA = fused.is_compiled()
LOSSES = [("squared", None), ("absolute", None), ("huber", 0.3), ("logcosh", None)]


_KERNEL = fused._kernel


def _python_kernel(*args: Any) -> None:
    """The kernel's plain-Python source (numba keeps it as ``py_func``)."""
    getattr(_KERNEL, "py_func", _KERNEL)(*args)


KERNELS = [
    pytest.param("compiled", marks=pytest.mark.skipif(not HAS_NUMBA, reason="numba missing")),
    "python",
]


def _problem(
    seed: int, R: int, B: int, k: int, N: int, d: int, domain: str = "boolean"
) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((R, B * k, d))
    if domain == "boolean":
        X = np.sign(X)
    y = X[:, :, 0] * X[:, :, 1] + 0.5 * X[:, :, 0]
    p = init_params(d, N, seeds=list(range(seed, seed + R)))
    scale = np.full((R, 1, 1), 1 / B)
    scale[-1] = 0.0  # a frozen replica
    return p, X, y, scale


def _fused_block(
    p: Params, X: Any, y: Any, scale: Any, B: int, loss: str, delta: Any, kernel: str,
    *, signs: bool = False,
) -> Params:  # fmt: skip
    bits = fused.pack_signs(X) if signs else None
    if kernel == "compiled":
        return fused.fused_block(p, X, y, scale, 0.4, 0.05, B, loss, delta, bits=bits)
    real = fused._kernel
    try:
        fused._kernel = _python_kernel
        return fused.fused_block(p, X, y, scale, 0.4, 0.05, B, loss, delta, bits=bits)
    finally:
        fused._kernel = real


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("loss", "delta"), LOSSES)
@pytest.mark.parametrize("domain", ["boolean", "gaussian"])
def test_the_kernel_gives_the_reference_block(
    kernel: str, loss: str, delta: float | None, domain: str
) -> None:
    p, X, y, scale = _problem(1, R=3, B=4, k=6, N=8, d=7, domain=domain)
    ref = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 4, loss, delta)
    got = _fused_block(p, X, y, scale, 4, loss, delta, kernel)
    for name in ("W", "b", "a"):
        want, have = getattr(ref, name), getattr(got, name)
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14)
        assert not np.array_equal(getattr(p, name)[:-1], want[:-1])  # the block moved them
        np.testing.assert_array_equal(have[-1], getattr(p, name)[-1])  # frozen: not at all


@settings(max_examples=25, deadline=None)
@given(
    R=st.integers(1, 4), B=st.integers(1, 5), k=st.integers(2, 6), N=st.integers(1, 9),
    d=st.integers(2, 9), seed=st.integers(0, 10_000),
)  # fmt: skip
def test_the_kernel_matches_the_reference_on_any_shape(
    R: int, B: int, k: int, N: int, d: int, seed: int
) -> None:
    p, X, y, scale = _problem(seed, R + 1, B, k, N, d)
    ref = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, B)
    got = _fused_block(p, X, y, scale, B, "squared", None, "compiled" if HAS_NUMBA else "python")
    for name in ("W", "b", "a"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("d", "B", "k"), [(7, 4, 6), (64, 8, 8), (130, 3, 5), (2, 2, 3)])
def test_the_gram_matrix_from_bit_counts_is_the_product_bit_for_bit(
    kernel: str, dtype: str, d: int, B: int, k: int
) -> None:
    """Signs: ``d - 2 popcount(xor)`` is the float product's integer, so nothing moves a bit."""
    p, X, y, scale = _problem(3, R=3, B=B, k=k, N=5, d=d)
    p = Params(*(getattr(p, name).astype(dtype) for name in ("W", "b", "a")))
    X, y, scale = X.astype(dtype), y.astype(dtype), scale.astype(dtype)
    product = _fused_block(p, X, y, scale, B, "huber", 0.3, kernel)
    counted = _fused_block(p, X, y, scale, B, "huber", 0.3, kernel, signs=True)
    for name in ("W", "b", "a"):
        np.testing.assert_array_equal(getattr(counted, name), getattr(product, name))
    assert not np.array_equal(counted.W[:-1], p.W[:-1])


def test_the_plain_python_bit_count_counts_bits() -> None:
    words = np.random.default_rng(5).integers(0, 2**63, size=200, dtype=np.uint64) * 2 + 1
    for word in [*words, np.uint64(0), np.uint64(2**64 - 1)]:
        assert fused._python_popcount(word) == bin(int(word)).count("1")


@pytest.mark.parametrize("kernel", KERNELS)
def test_signs_are_packed_64_to_a_word_least_significant_first(kernel: str) -> None:
    rng = np.random.default_rng(6)
    X = np.sign(rng.standard_normal((2, 3, 130)))
    bits = np.zeros((2, 3, 3), dtype=np.uint64)
    pack = fused._pack_signs
    if kernel == "python":
        pack = getattr(pack, "py_func", pack)
    pack(X, bits)
    for r, m in np.ndindex(2, 3):
        number = sum(1 << k for k in range(130) if X[r, m, k] < 0)
        words = [(number >> (64 * w)) & (2**64 - 1) for w in range(3)]
        assert bits[r, m].tolist() == words
    np.testing.assert_array_equal(fused.pack_signs(X), bits)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_weights_spread_as_in_the_reference(kernel: str) -> None:
    """An inf in one replica's first layer gives nan there (the divergence check's cue) only."""
    p, X, y, scale = _problem(2, R=3, B=4, k=4, N=6, d=5)
    W = p.W.copy()
    W[0, 2, 1] = np.inf
    p = Params(W, p.b, p.a)
    ref = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 4)
    got = _fused_block(p, X, y, scale, 4, "squared", None, kernel)
    assert np.isnan(ref.a[0]).any()
    for name in ("W", "b", "a"):
        want, have = getattr(ref, name), getattr(got, name)
        np.testing.assert_array_equal(np.isfinite(have), np.isfinite(want))
        np.testing.assert_allclose(have[1:], want[1:], rtol=1e-12)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_numba_run_is_bitwise_reproducible_and_follows_the_numpy_run(dtype: str) -> None:
    kwargs: dict[str, Any] = {
        "d": 12, "replicas": 3, "samples": 6000, "test_size": 256, "seed": 4, "dtype": dtype,
        "stop_loss": None,
    }  # fmt: skip
    first = train("x1 + x1*x2", backend="numba", **kwargs)
    again = train("x1 + x1*x2", backend="numba", **kwargs)
    reference = train("x1 + x1*x2", backend="numpy", **kwargs)
    np.testing.assert_array_equal(first.loss, again.loss)
    assert first.settings["backend"] == "numba"
    assert first.status == reference.status
    tol = 1e-9 if dtype == "float64" else 2e-3
    np.testing.assert_allclose(first.loss, reference.loss, rtol=tol, atol=tol)


def test_the_numba_backend_without_numba_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'csqbound\[fast\]'"):
        get_backend("numba")


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_verify_and_report_take_the_backend(capsys: Any, tmp_path: Any) -> None:
    """``verify --backend numba`` stores numba runs, apart from numpy's; ``report`` overrides."""
    import sqlite3

    from csqbound.cli import main

    db = tmp_path / "runs.sqlite"
    base = ["verify", "x1", "--d", "8,16", "--db", str(db), "--seeds", "1", "--replicas", "2",
            "--samples", "4000", "--workers", "1", "-q", "--format", "json"]  # fmt: skip
    assert main([*base, "--backend", "numba"]) == 0
    assert main(base) == 0  # numpy: other runs, not the numba ones reused
    capsys.readouterr()
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT json_extract(settings, '$.backend') FROM runs").fetchall()
    backends = sorted(r[0] for r in rows)
    assert backends == ["numba", "numba", "numpy", "numpy"]
    assert main(["report", "--backend", "jax", "--out", str(tmp_path / "rep")]) == 2
    assert "unknown backend 'jax'" in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_a_boolean_numba_run_counts_bits_and_gets_the_product_s_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trainer packs each chunk's signs; dropping them (numpy's Gram product) moves no bit."""
    from csqbound.sgd import train as train_module

    kwargs: dict[str, Any] = {
        "d": 70, "replicas": 3, "samples": 8000, "test_size": 256, "seed": 2,
        "stop_loss": None, "dtype": "float32", "backend": "numba",
    }  # fmt: skip
    seen: list[Any] = []
    real_block = fused.fused_block

    def watch(*args: Any, bits: Any = None, **kw: Any) -> Params:
        seen.append(bits)
        return real_block(*args, bits=bits, **kw)

    monkeypatch.setattr(fused, "fused_block", watch)
    counted = train("x1 + x1*x2*x3", **kwargs)
    assert seen, "the run took no compiled block"
    assert all(b is not None and b.shape[2] == 2 for b in seen)  # 70 signs: two words a row
    real_refill = train_module._Loop._refill

    def without_bits(self: Any) -> None:
        real_refill(self)
        self.bits_chunk = None

    monkeypatch.setattr(train_module._Loop, "_refill", without_bits)
    seen.clear()
    product = train("x1 + x1*x2*x3", **kwargs)
    assert seen and all(b is None for b in seen)
    np.testing.assert_array_equal(counted.loss, product.loss)
    monkeypatch.setattr(train_module._Loop, "_refill", real_refill)
    seen.clear()
    train("x1*x2", domain="gaussian", **{**kwargs, "samples": 2000})
    assert seen, "the gaussian run took no compiled block"
    assert all(b is None for b in seen)  # gaussian inputs: never bits
