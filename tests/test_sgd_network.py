"""Tests of csqbound.sgd.network: forward pass, analytic gradients, activations, init."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss, hermeval

from csqbound.errors import ParameterError
from csqbound.sgd.backend import get_backend, to_numpy
from csqbound.sgd.network import (
    ACTIVATIONS,
    Params,
    activate,
    check_activation,
    forward,
    hermite_coefficients,
    init_params,
    loss_and_gradients,
    sgd_block,
    sgd_step,
    sigma,
)

HAS_TORCH = importlib.util.find_spec("torch") is not None
NO_TORCH = "torch is not installed (pip install 'csqbound[torch]'; torch==2.13.0 CPU works)"


@pytest.fixture
def backend(backend_name: str) -> Any:
    """The array backends the network must run on (the matrix is in the root conftest)."""
    return get_backend(backend_name, device="cpu" if backend_name == "torch" else None)


def _problem(R: int = 3, B: int = 5, N: int = 7, d: int = 4, seed: int = 0) -> tuple[Params, Any]:
    rng = np.random.default_rng(seed)
    p = init_params(d, N, seeds=[rng for _ in range(R)], dtype="float64")
    # larger output weights than at initialisation, so every gradient is O(1)
    p = Params(p.W, p.b, rng.standard_normal((R, N)))
    X = rng.standard_normal((R, B, d))
    y = rng.standard_normal((R, B))
    return p, (X, y)


def _reference_forward(p: Params, X: np.ndarray, activation: str) -> np.ndarray:
    """``sum_j a_j sigma(<w_j, x> + b_j)`` with explicit loops (independent of the kernel)."""
    R, B, _ = X.shape
    out = np.zeros((R, B))
    for r in range(R):
        for b in range(B):
            for j in range(p.W.shape[1]):
                h = float(np.dot(p.W[r, j], X[r, b]) + p.b[r, j])
                value = {
                    "relu": max(h, 0.0),
                    "softplus": math.log1p(math.exp(h)),
                    "shifted_softplus": math.log1p(math.exp(h - 0.5)),
                }[activation]
                out[r, b] += p.a[r, j] * value
    return out


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_explicit_sum(activation: str) -> None:
    p, (X, _) = _problem()
    np.testing.assert_allclose(forward(p, X, activation), _reference_forward(p, X, activation))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_central_differences(activation: str) -> None:
    p, (X, y) = _problem(seed=1)
    loss, g = loss_and_gradients(p, X, y, activation)
    eps = 1e-6
    for name in ("W", "b", "a"):
        base = getattr(p, name)
        grad = getattr(g, name)
        for index in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[index] += eps
            minus[index] -= eps
            lp, _ = loss_and_gradients(Params(**{**vars(p), name: plus}), X, y, activation)
            lm, _ = loss_and_gradients(Params(**{**vars(p), name: minus}), X, y, activation)
            r = index[0]
            numeric = (lp[r] - lm[r]) / (2 * eps)
            assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-7), (name, index)
            # other replicas do not depend on this parameter
            others = np.delete(np.arange(p.replicas), r)
            np.testing.assert_array_equal(lp[others], loss[others])


@pytest.mark.skipif(not HAS_TORCH, reason=NO_TORCH)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_match_torch_autograd(activation: str) -> None:
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    p, (X, y) = _problem(seed=2)
    loss, g = loss_and_gradients(p, X, y, activation)
    W = torch.tensor(p.W, requires_grad=True)
    b = torch.tensor(p.b, requires_grad=True)
    a = torch.tensor(p.a, requires_grad=True)
    H = torch.einsum("rbd,rnd->rbn", torch.tensor(X), W) + b[:, None, :]
    Z = {
        "relu": torch.relu,
        "softplus": torch.nn.functional.softplus,
        "shifted_softplus": lambda h: torch.nn.functional.softplus(h - 0.5),
    }[activation](H)
    f = torch.einsum("rbn,rn->rb", Z, a)
    per_replica = ((f - torch.tensor(y)) ** 2).mean(dim=1) / 2
    per_replica.sum().backward()
    np.testing.assert_allclose(loss, per_replica.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.W, W.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.b, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.a, a.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backends_agree_with_numpy(backend: Any, activation: str) -> None:
    p, (X, y) = _problem(seed=3)
    loss, g = loss_and_gradients(p, X, y, activation)
    dev = p.map(lambda v: backend.asarray(v, "float64"))
    Xd, yd = backend.asarray(X, "float64"), backend.asarray(y, "float64")
    np.testing.assert_allclose(
        to_numpy(forward(dev, Xd, activation, backend.xp)), forward(p, X, activation)
    )
    loss_d, g_d = loss_and_gradients(dev, Xd, yd, activation, backend.xp)
    np.testing.assert_allclose(to_numpy(loss_d), loss, rtol=1e-12)
    for name in ("W", "b", "a"):
        np.testing.assert_allclose(
            to_numpy(getattr(g_d, name)), getattr(g, name), rtol=1e-10, atol=1e-14
        )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_sgd_step_is_gradient_descent_and_masks(backend: Any, activation: str) -> None:
    p, (X, y) = _problem(seed=4)
    _, g = loss_and_gradients(p, X, y, activation)
    B = X.shape[1]
    scale = np.array([1 / B, 0.0, 1 / B]).reshape(3, 1, 1)
    dev = p.map(lambda v: backend.asarray(v, "float64"))
    dev = sgd_step(
        dev,
        backend.asarray(X, "float64"),
        backend.asarray(y, "float64"),
        backend.asarray(scale, "float64"),
        0.3,
        0.02,
        activation,
        backend.xp,
    )
    expected_W = p.W - 0.3 * g.W
    expected_b = p.b - 0.3 * g.b
    expected_a = p.a - 0.02 * g.a
    for got, want, before in (
        (dev.W, expected_W, p.W),
        (dev.b, expected_b, p.b),
        (dev.a, expected_a, p.a),
    ):
        got = to_numpy(got)
        np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(got[1], before[1])  # scale 0: frozen


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_block_is_its_steps_to_rounding(backend: Any, activation: str) -> None:
    """sgd_block (first layer updated once, via the Gram matrix) = sgd_step k times."""
    R, B, N, d, k = 3, 4, 6, 5, 5
    rng = np.random.default_rng(7)
    p = init_params(d, N, seeds=[0, 1, 2], dtype="float64")
    p = Params(p.W, p.b, rng.standard_normal((R, N)) / 4)
    X = rng.standard_normal((R, k * B, d))
    y = rng.standard_normal((R, k * B))
    scale = np.array([1 / B, 0.0, 1 / B]).reshape(R, 1, 1)
    ref = p.map(np.copy)
    for j in range(k):
        rows = slice(j * B, (j + 1) * B)
        ref = sgd_step(ref, X[:, rows], y[:, rows], scale, 0.3, 0.05, activation, np)
    to = lambda v: backend.asarray(v, "float64")  # noqa: E731
    dev = sgd_block(p.map(to), to(X), to(y), to(scale), 0.3, 0.05, activation, backend.xp, B)
    for got, want, before in ((dev.W, ref.W, p.W), (dev.b, ref.b, p.b), (dev.a, ref.a, p.a)):
        got = to_numpy(got)
        assert not np.allclose(want[0], before[0])  # the steps did move the replica
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(got[1], before[1])  # scale 0: frozen, bit for bit


def test_a_block_of_one_step_is_the_step_bitwise() -> None:
    p, (X, y) = _problem(seed=5)
    scale = np.full((3, 1, 1), 1 / X.shape[1])
    stepped = sgd_step(p, X, y, scale, 0.2, 0.01, "relu", np)
    blocked = sgd_block(p, X, y, scale, 0.2, 0.01, "relu", np, X.shape[1])
    for name in ("W", "b", "a"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(stepped, name))


def test_a_block_is_deterministic_in_float32() -> None:
    rng = np.random.default_rng(3)
    X = np.sign(rng.standard_normal((4, 64, 32))).astype(np.float32)
    y = X[:, :, 0] * X[:, :, 1]
    scale = np.full((4, 1, 1), 1 / 8, dtype=np.float32)
    runs = []
    for _ in range(2):
        p = init_params(32, 16, seeds=[0, 1, 2, 3], dtype="float32")
        runs.append(sgd_block(p, X, y, scale, 0.5, 0.01, "relu", np, 8))
    for name in ("W", "b", "a"):
        assert getattr(runs[0], name).dtype == np.float32
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name))


@pytest.mark.parametrize("k", [1, 4])
def test_steps_leave_their_input_parameters_as_they_were(k: int) -> None:
    """sgd_step and sgd_block are pure updates (optax's ``update``): new Params, input untouched."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((3, 4 * k, 5))
    y = rng.standard_normal((3, 4 * k))
    scale = np.full((3, 1, 1), 1 / 4)
    p = init_params(5, 6, seeds=[0, 1, 2], dtype="float64")
    snapshot = p.map(np.copy)
    q = sgd_block(p, X, y, scale, 0.5, 0.1, "relu", np, 4)
    for name in ("W", "b", "a"):
        np.testing.assert_array_equal(getattr(p, name), getattr(snapshot, name))
        assert not np.shares_memory(getattr(q, name), getattr(p, name))
        assert not np.array_equal(getattr(q, name), getattr(p, name))


def test_activation_derivatives() -> None:
    h = np.linspace(-30, 30, 601)
    for name in ACTIVATIONS:
        Z, D = activate(h, name, np)
        np.testing.assert_array_equal(Z, sigma(h, name, np))
        assert np.all(np.isfinite(Z))
        assert np.all(np.isfinite(D))
        eps = 1e-6
        away = np.abs(h) > 1e-3  # relu's kink
        numeric = (sigma(h + eps, name, np) - sigma(h - eps, name, np)) / (2 * eps)
        np.testing.assert_allclose(D[away], numeric[away], atol=1e-6)
    with pytest.raises(ParameterError, match="tanh"):
        check_activation("tanh")


def test_shifted_softplus_has_every_hermite_coefficient() -> None:
    """All of ``c_0..c_8`` are non-zero; plain relu and softplus lose the odd ones >= 3."""
    c = hermite_coefficients("shifted_softplus", 8)
    normalised = np.abs(c) * np.sqrt([math.factorial(k) for k in range(9)])
    assert np.all(normalised > 1e-4), normalised
    for name in ("relu", "softplus"):
        c = hermite_coefficients(name, 8)
        assert np.all(np.abs(c[3::2]) < 1e-10), (name, c)
        assert np.all(np.abs(c[[0, 1, 2, 4, 6, 8]]) > 1e-6), (name, c)


def test_hermite_coefficients_against_closed_forms_and_gauss_hermite() -> None:
    c = hermite_coefficients("relu", 4)
    s = 1 / math.sqrt(2 * math.pi)
    # relu: c0 = 1/sqrt(2 pi), c1 = 1/2, c2 = 1/(2 sqrt(2 pi)), c4 = -1/(24 sqrt(2 pi))
    np.testing.assert_allclose(c, [s, 0.5, s / 2, 0.0, -s / 24], atol=1e-9)
    # smooth activations: independent Gauss-Hermite quadrature converges fast
    z, w = hermegauss(120)
    w = w / math.sqrt(2 * math.pi)
    for name in ("softplus", "shifted_softplus"):
        values = sigma(z, name, np)
        reference = [
            float(np.sum(w * values * hermeval(z, [0] * k + [1]))) / math.factorial(k)
            for k in range(7)
        ]
        np.testing.assert_allclose(hermite_coefficients(name, 6), reference, atol=1e-9)


def test_init_params_distribution() -> None:
    d, N = 50, 400
    p = init_params(d, N, seeds=[0, 1], dtype="float32")
    assert p.W.dtype == np.float32
    assert (p.replicas, p.width, p.d) == (2, N, d)
    np.testing.assert_array_equal(np.abs(p.a), np.float32(1 / N))
    assert np.all(np.abs(p.b) <= 1)
    # w ~ N(0, I/d): ||w||^2 has mean 1
    assert abs(float(np.mean(np.sum(p.W.astype(float) ** 2, axis=2))) - 1) < 0.02
    assert abs(float(np.mean(np.sign(p.a)))) < 5 / np.sqrt(p.a.size)
    np.testing.assert_array_equal(
        init_params(d, N, seeds=[1]).W[0], init_params(d, N, seeds=[0, 1]).W[1]
    )
    with pytest.raises(ParameterError):
        init_params(0, N, seeds=[0])
