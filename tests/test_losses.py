"""Training losses (csqbound.sgd.losses) and SGD under them: gradients, block path, plumbing."""

from __future__ import annotations

import importlib.util
import json
import typing
from typing import Any

import numpy as np
import pytest

import csqbound.sgd.train as train_module
from csqbound.cli import main
from csqbound.errors import CsqboundError, ParameterError
from csqbound.experiments.store import Store, StoredRun
from csqbound.experiments.sweep import DEFAULT_SETTINGS, RunSpec, check_settings, make_grid
from csqbound.report.suite import parse_suite
from csqbound.sgd.losses import (
    HUBER_DELTA,
    LOSSES,
    Loss,
    check_loss,
    check_loss_parameter,
    loss_derivative,
    loss_value,
)
from csqbound.sgd.network import (
    Params,
    _activate_step,
    activate,
    init_params,
    loss_and_gradients,
    sgd_block,
    sgd_step,
)
from csqbound.sgd.train import train

HAS_TORCH = importlib.util.find_spec("torch") is not None
NO_TORCH = "torch is not installed (pip install 'csqbound[torch]'; torch==2.13.0 CPU works)"
#: The losses with their parameter as the trainer resolves it.
CASES: tuple[tuple[str, float | None], ...] = (
    ("squared", None),
    ("absolute", None),
    ("huber", 1.0),
    ("huber", 0.3),
    ("logcosh", None),
)
IDS = [f"{name}-{delta}" if delta else name for name, delta in CASES]


# -- the registry ----------------------------------------------------------------------------
def test_the_registry_is_the_literal_and_every_name_checks() -> None:
    assert typing.get_args(Loss) == LOSSES
    assert [check_loss(name) for name in LOSSES] == list(LOSSES)


@pytest.mark.parametrize("bad", ["foo", "Squared", "", "l1", 2, None])
def test_unknown_losses_are_one_clear_error(bad: object) -> None:
    with pytest.raises(ParameterError, match="unknown loss .*use one of squared, absolute"):
        check_loss(bad)


@pytest.mark.parametrize("delta", [0, -1.0, float("nan"), float("inf"), "abc", True])
def test_huber_delta_must_be_positive_and_finite(delta: object) -> None:
    with pytest.raises(ParameterError, match="huber_delta must be a finite number > 0"):
        check_loss_parameter("huber", delta)


def test_huber_delta_defaults_and_belongs_to_huber_only() -> None:
    assert check_loss_parameter("huber") == HUBER_DELTA == 1.0
    assert check_loss_parameter("huber", "0.25") == 0.25
    assert check_loss_parameter("logcosh") is None
    with pytest.raises(ParameterError, match="parameter of loss='huber' only"):
        check_loss_parameter("absolute", 0.5)


# -- the scalar losses and their derivatives ------------------------------------------------
def _residuals() -> np.ndarray:
    """Residuals on both sides of every kink (0, +-delta for delta in 0.3, 1), none on one."""
    r = np.linspace(-3.0, 3.0, 241) + 1e-3
    return r[(np.abs(np.abs(r) - 1.0) > 1e-3) & (np.abs(np.abs(r) - 0.3) > 1e-3)]


@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_derivative_is_the_central_difference_of_the_value(loss: str, delta: float | None) -> None:
    r, eps = _residuals(), 1e-6
    numeric = (loss_value(r + eps, loss, delta, np) - loss_value(r - eps, loss, delta, np)) / (
        2 * eps
    )
    np.testing.assert_allclose(loss_derivative(r, loss, delta, np), numeric, rtol=1e-6, atol=1e-8)


def test_hand_values() -> None:
    r = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(loss_value(r, "huber", 1.0, np), [1.5, 0.125, 0.0, 0.125, 1.5])
    np.testing.assert_array_equal(loss_derivative(r, "absolute", None, np), [-1, -1, 0, 1, 1])
    np.testing.assert_allclose(loss_value(r, "logcosh", None, np), np.log(np.cosh(r)), rtol=1e-14)
    assert loss_derivative(r, "squared", None, np) is r  # no copy, no arithmetic


@pytest.mark.skipif(not HAS_TORCH, reason=NO_TORCH)
@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_values_and_derivatives_match_torch(loss: str, delta: float | None) -> None:
    """Against torch's own losses (an independent definition) and autograd."""
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    r = _residuals()
    t = torch.tensor(r, requires_grad=True)
    zero = torch.zeros_like(t)
    F = torch.nn.functional
    value = {
        "squared": lambda: F.mse_loss(t, zero, reduction="none") / 2,
        "absolute": lambda: F.l1_loss(t, zero, reduction="none"),
        "huber": lambda: F.huber_loss(t, zero, reduction="none", delta=float(delta or 1.0)),
        "logcosh": lambda: torch.log(torch.cosh(t)),
    }[loss]()
    value.sum().backward()
    # atol: torch's log(cosh(r)) cancels near r = 0 (1e-16 absolute), csqbound's does not
    want = value.detach().numpy()
    np.testing.assert_allclose(loss_value(r, loss, delta, np), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(loss_derivative(r, loss, delta, np), t.grad.numpy(), rtol=1e-12)


# -- the network's gradients under each loss ------------------------------------------------
def _problem(seed: int, R: int = 3, B: int = 6, N: int = 5, d: int = 4) -> tuple[Params, Any, Any]:
    rng = np.random.default_rng(seed)
    p = init_params(d, N, seeds=[rng for _ in range(R)], dtype="float64")
    p = Params(p.W, p.b, rng.standard_normal((R, N)))  # O(1) output weights: O(1) gradients
    return p, rng.standard_normal((R, B, d)), 2 * rng.standard_normal((R, B))


@pytest.mark.parametrize("activation", ["softplus", "relu"])
@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_network_gradients_match_central_differences(
    loss: str, delta: float | None, activation: str
) -> None:
    p, X, y = _problem(seed=1)
    value, g = loss_and_gradients(p, X, y, activation, loss=loss, delta=delta)
    eps = 1e-6
    for name in ("W", "b", "a"):
        base, grad = getattr(p, name), getattr(g, name)
        for index in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[index] += eps
            minus[index] -= eps
            kw = {"loss": loss, "delta": delta}
            lp, _ = loss_and_gradients(Params(**{**vars(p), name: plus}), X, y, activation, **kw)
            lm, _ = loss_and_gradients(Params(**{**vars(p), name: minus}), X, y, activation, **kw)
            numeric = (lp[index[0]] - lm[index[0]]) / (2 * eps)
            assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-7), (name, index)
    assert value.shape == (p.replicas,)


@pytest.mark.skipif(not HAS_TORCH, reason=NO_TORCH)
@pytest.mark.parametrize("activation", ["relu", "softplus", "shifted_softplus"])
@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_network_gradients_match_torch_autograd(
    loss: str, delta: float | None, activation: str
) -> None:
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    F = torch.nn.functional
    p, X, y = _problem(seed=2)
    value, g = loss_and_gradients(p, X, y, activation, loss=loss, delta=delta)
    W = torch.tensor(p.W, requires_grad=True)
    b = torch.tensor(p.b, requires_grad=True)
    a = torch.tensor(p.a, requires_grad=True)
    H = torch.einsum("rbd,rnd->rbn", torch.tensor(X), W) + b[:, None, :]
    Z = {
        "relu": torch.relu,
        "softplus": F.softplus,
        "shifted_softplus": lambda h: F.softplus(h - 0.5),
    }[activation](H)
    f = torch.einsum("rbn,rn->rb", Z, a)
    target = torch.tensor(y)
    per_sample = {
        "squared": lambda: F.mse_loss(f, target, reduction="none") / 2,
        "absolute": lambda: F.l1_loss(f, target, reduction="none"),
        "huber": lambda: F.huber_loss(f, target, reduction="none", delta=float(delta or 1.0)),
        "logcosh": lambda: torch.log(torch.cosh(f - target)),
    }[loss]()
    per_replica = per_sample.mean(dim=1)
    per_replica.sum().backward()
    np.testing.assert_allclose(value, per_replica.detach().numpy(), rtol=1e-12)
    for name, tensor in (("W", W), ("b", b), ("a", a)):
        np.testing.assert_allclose(getattr(g, name), tensor.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_a_step_is_gradient_descent_on_that_loss(loss: str, delta: float | None) -> None:
    p, X, y = _problem(seed=4)
    _, g = loss_and_gradients(p, X, y, "relu", loss=loss, delta=delta)
    B = X.shape[1]
    scale = np.array([1 / B, 0.0, 1 / B]).reshape(3, 1, 1)
    q = sgd_step(p, X, y, scale, 0.3, 0.02, "relu", np, loss, delta)
    for got, want, before in (
        (q.W, p.W - 0.3 * g.W, p.W),
        (q.b, p.b - 0.3 * g.b, p.b),
        (q.a, p.a - 0.02 * g.a, p.a),
    ):
        np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(got[1], before[1])  # scale 0: frozen


# -- the block path is the step-by-step path, for every loss ---------------------------------
@pytest.mark.parametrize("activation", ["relu", "softplus"])
@pytest.mark.parametrize(("loss", "delta"), CASES, ids=IDS)
def test_a_block_is_its_steps_for_every_loss(
    loss: str, delta: float | None, activation: str
) -> None:
    """The Gram-matrix block applies rho' to each step's exact outputs: k steps, to rounding."""
    R, B, N, d, k = 3, 4, 6, 5, 8
    rng = np.random.default_rng(7)
    p = init_params(d, N, seeds=[0, 1, 2], dtype="float64")
    p = Params(p.W, p.b, rng.standard_normal((R, N)) / 4)
    X = rng.standard_normal((R, k * B, d))
    y = 2 * rng.standard_normal((R, k * B))
    scale = np.array([1 / B, 0.0, 1 / B]).reshape(R, 1, 1)
    ref = p.map(np.copy)
    for j in range(k):
        rows = slice(j * B, (j + 1) * B)
        ref = sgd_step(ref, X[:, rows], y[:, rows], scale, 0.5, 0.2, activation, np, loss, delta)
    blk = sgd_block(p, X, y, scale, 0.5, 0.2, activation, np, B, loss, delta)
    for got, want, before in ((blk.W, ref.W, p.W), (blk.b, ref.b, p.b), (blk.a, ref.a, p.a)):
        assert not np.allclose(want[0], before[0])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(got[1], before[1])


def test_the_losses_move_the_network_differently() -> None:
    """A block under each loss ends elsewhere (the loss is not silently ignored)."""
    p, X, y = _problem(seed=9, B=8)
    scale = np.full((3, 1, 1), 1 / 4)
    ends = []
    for loss, delta in CASES:
        ends.append(sgd_block(p, X, y, scale, 0.5, 0.2, "relu", np, 4, loss, delta).a)
    for i in range(len(ends)):
        for j in range(i):
            assert not np.allclose(ends[i], ends[j]), (CASES[i], CASES[j])


@pytest.mark.parametrize(("loss", "delta"), CASES[1:], ids=IDS[1:])
def test_blocked_training_agrees_with_the_reference_path(
    loss: str, delta: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    kwargs: dict[str, Any] = {
        "d": 8, "replicas": 3, "samples": 1600, "test_size": 512, "dtype": "float64",
        "stop_loss": None, "seed": 3, "batch": 4, "loss": loss, "huber_delta": delta,
    }  # fmt: skip
    blocked = train("x1 + x1*x2", **kwargs)
    monkeypatch.setattr(train_module, "BLOCK_ROWS", 1)
    reference = train("x1 + x1*x2", **kwargs)
    assert not np.array_equal(blocked.loss, reference.loss)  # two paths ...
    np.testing.assert_allclose(blocked.loss, reference.loss, rtol=1e-9)  # ... one SGD
    for name, path in reference.coefficients.items():
        np.testing.assert_allclose(blocked.coefficients[name], path, rtol=1e-8, atol=1e-10)


# -- the squared loss is the training of before, bit for bit ---------------------------------
def _old_sgd_step(params: Params, X: Any, y: Any, scale: Any, lr_h: float, lr_o: float) -> None:
    """sgd_step as it was before losses could be chosen (verbatim, relu, numpy)."""
    W, b, a = params.W, params.b, params.a
    H = np.matmul(X, W.mT) + b[:, None, :]
    Z, D = activate(H, "relu", np)
    e = (np.matmul(Z, a[:, :, None]) - y[:, :, None]) * scale
    ga = np.matmul(e.mT, Z)
    G = D * (e * a[:, None, :])
    W -= lr_h * np.matmul(G.mT, X)
    b -= lr_h * np.sum(G, axis=1)
    a -= lr_o * ga[:, 0, :]


def _old_sgd_block(params: Params, X: Any, y: Any, scale: Any, lr_h: float, lr_o: float, B: int):
    """sgd_block as it was before losses could be chosen (verbatim, relu, numpy, k > 1)."""
    W, b, a = params.W, params.b, params.a
    k = int(X.shape[1]) // B
    H = np.matmul(X, W.mT) + b[:, None, :]
    C = np.matmul(X, X.mT) + 1.0
    G = np.empty_like(H)
    for j in range(k):
        rows = slice(j * B, (j + 1) * B)
        if j:
            Cj = np.asarray(C[:, rows, : j * B], copy=True)
            Hj = H[:, rows, :] - np.matmul(Cj, G[:, : j * B, :])
        else:
            Hj = np.asarray(H[:, rows, :], copy=True)
        Z, D = _activate_step(Hj, "relu", np)
        e = (np.matmul(Z, a[:, :, None]) - y[:, rows, None]) * scale
        ga = np.matmul(e.mT, Z)
        G[:, rows, :] = (D * e) * (lr_h * a)[:, None, :]
        a -= lr_o * ga[:, 0, :]
    W -= np.matmul(G.mT, X)
    b -= np.matmul(G.mT, np.ones_like(G[:, :, :1]))[:, :, 0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_squared_loss_kernels_are_the_old_kernels_bitwise(dtype: str) -> None:
    rng = np.random.default_rng(5)
    p = init_params(6, 8, seeds=[0, 1], dtype=dtype)
    X = np.sign(rng.standard_normal((2, 32, 6))).astype(dtype)
    y = (X[:, :, 0] * X[:, :, 1]).astype(dtype)
    scale = np.full((2, 1, 1), 1 / 4, dtype=dtype)
    old = p.map(np.copy)
    _old_sgd_block(old, X, y, scale, 0.4, 0.05, 4)
    _old_sgd_step(old, X[:, :4], y[:, :4], scale, 0.4, 0.05)
    new = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 4, "squared", None)
    new = sgd_step(new, X[:, :4], y[:, :4], scale, 0.4, 0.05, "relu", np, "squared", None)
    default = sgd_block(p, X, y, scale, 0.4, 0.05, "relu", np, 4)
    default = sgd_step(default, X[:, :4], y[:, :4], scale, 0.4, 0.05, "relu", np)
    for name in ("W", "b", "a"):
        np.testing.assert_array_equal(getattr(new, name), getattr(old, name))
        np.testing.assert_array_equal(getattr(default, name), getattr(old, name))


def test_squared_loss_training_is_the_default_training_bitwise() -> None:
    kwargs: dict[str, Any] = {"d": 8, "replicas": 2, "samples": 2000, "seed": 4}
    default = train("x1 + x1*x2", **kwargs)
    squared = train("x1 + x1*x2", loss="squared", **kwargs)
    np.testing.assert_array_equal(default.loss, squared.loss)
    for name, path in default.coefficients.items():
        np.testing.assert_array_equal(squared.coefficients[name], path)
    assert squared.settings["loss"] == "squared"
    assert squared.settings["huber_delta"] is None


# -- training under each loss -----------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_learns_a_staircase_and_reports_the_squared_error(loss: str) -> None:
    run = train("x1 + x1*x2", d=8, replicas=2, samples=20_000, seed=1, loss=loss)
    assert run.status == ("ok", "ok"), run.status
    assert run.settings["loss"] == loss
    # the curve is the test MSE: at n = 0 (f ~ 0) it is about E[y^2] = Var f = 2
    assert run.loss[:, 0] == pytest.approx(2.0, rel=0.25)
    assert (run.loss[:, -1] <= 0.05 * run.var_f + 1e-12).all()


def test_layerwise_trains_the_squared_loss_only() -> None:
    with pytest.raises(ParameterError, match="layerwise.*least squares"):
        train("x1", d=4, samples=100, loss="absolute", schedule="layerwise")
    with pytest.raises(ParameterError, match="layerwise.*least squares"):
        check_settings({"loss": "logcosh", "schedule": "layerwise"})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "foo"}, "unknown loss 'foo'"),
        ({"loss": "huber", "huber_delta": 0.0}, "huber_delta must be"),
        ({"loss": "huber", "huber_delta": -2}, "huber_delta must be"),
        ({"huber_delta": 1.0}, "parameter of loss='huber' only"),
    ],
)
def test_bad_losses_are_refused_before_any_work(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        train("x1", d=4, samples=100, **kwargs)
    with pytest.raises(ParameterError, match=match):
        check_settings(kwargs)


# -- sweep settings and the store key ---------------------------------------------------------
def test_the_loss_is_a_default_setting_and_part_of_the_key() -> None:
    assert DEFAULT_SETTINGS["loss"] == "squared"
    assert DEFAULT_SETTINGS["huber_delta"] is None
    keys = {
        (loss, delta): RunSpec("x1*x2", "boolean", 16, 0, check_settings({"loss": loss, **(
            {} if delta is None else {"huber_delta": delta})})).key
        for loss, delta in CASES
    }  # fmt: skip
    assert len(set(keys.values())) == len(CASES)
    # the default delta is resolved before keying: "huber" and "huber, delta 1" are one run
    assert (
        keys[("huber", 1.0)]
        == RunSpec("x1*x2", "boolean", 16, 0, check_settings({"loss": "huber"})).key
    )
    grid = make_grid("x1*x2", [8], 1, [{"loss": "squared"}, {"loss": "absolute"}])
    assert [s.settings["loss"] for s in grid] == ["squared", "absolute"]


def test_a_run_stored_without_a_loss_reads_as_squared(tmp_path: Any) -> None:
    spec = RunSpec("x1", "boolean", 4, 0, {"replicas": 1})  # settings as stored before losses
    done = {"status": ["ok"], "samples_to_learn": [10], "samples_seen": [10]}
    absolute = RunSpec("x1", "boolean", 4, 0, {"replicas": 1, "loss": "absolute"})
    with Store(tmp_path / "runs.sqlite") as store:
        store.put(spec, done)
        store.put(absolute, done)
        old = store.get(spec.key)
        assert isinstance(old, StoredRun)
        assert "loss" not in old.settings
        assert old.loss == "squared"
        assert [r.key for r in store.runs(loss="squared")] == [spec.key]
        assert [r.key for r in store.runs(loss="absolute")] == [absolute.key]
        assert len(store.runs()) == 2


# -- command line and report suites -----------------------------------------------------------
def _cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("--loss", "foo"), "unknown loss 'foo'"),
        (("--loss", "huber", "--huber-delta", "0"), "huber_delta must be a finite number > 0"),
        (("--loss", "huber", "--huber-delta", "-1"), "huber_delta must be a finite number > 0"),
        (("--loss", "absolute", "--huber-delta", "2"), "parameter of loss='huber' only"),
    ],
)
@pytest.mark.parametrize("command", ["train", "verify"])
def test_cli_bad_loss_is_one_line_and_exit_2(
    capsys: Any, tmp_path: Any, command: str, argv: tuple[str, ...], match: str
) -> None:
    extra = ("--db", str(tmp_path / "x.sqlite")) if command == "verify" else ()
    code, out, err = _cli(capsys, command, "x1", "--d", "4,8" if command == "verify" else "4",
                          "--samples", "1000", "-q", *argv, *extra)  # fmt: skip
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert match in err
    assert not (tmp_path / "x.sqlite").exists()  # refused before any work


def test_cli_train_records_the_loss(capsys: Any) -> None:
    code, out, err = _cli(capsys, "train", "x1 + x1*x2", "--d", "8", "--replicas", "2",
                          "--samples", "8000", "--loss", "huber", "--huber-delta", "0.5",
                          "--format", "json", "-q")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["settings"]["loss"] == "huber"
    assert data["settings"]["huber_delta"] == 0.5
    code, out, err = _cli(capsys, "train", "x1", "--d", "4", "--replicas", "1", "--samples",
                          "2000", "--loss", "logcosh", "-q")  # fmt: skip
    assert code == 0, err
    assert "logcosh" in out


def test_cli_verify_keys_and_lists_runs_by_loss(capsys: Any, tmp_path: Any) -> None:
    db = str(tmp_path / "runs.sqlite")
    common = ("x1", "--d", "4,8", "--seeds", "1", "--replicas", "2", "--samples", "4000",
              "--db", db, "-q", "--format", "json")  # fmt: skip
    for loss in ("squared", "absolute"):
        code, out, err = _cli(capsys, "verify", *common, "--loss", loss)
        assert code == 0, err
        assert json.loads(out)["sweep"]["done"] == 2  # a new loss is new runs, not a resume
    code, out, err = _cli(capsys, "runs", "--db", db, "--loss", "absolute", "--format", "json")
    assert code == 0, err
    assert [r["settings"]["loss"] for r in json.loads(out)] == ["absolute", "absolute"]
    code, out, err = _cli(capsys, "runs", "--db", db, "--loss", "bogus")
    assert code == 2
    assert "unknown loss" in err


def test_suite_settings_take_the_loss() -> None:
    text = """
[report]
d = [8, 16]
seeds = 1

[settings]
samples = 1000

[[target]]
name = "sq"
expression = "x1*x2"

[[target]]
name = "l1"
expression = "x1*x2"
settings = { loss = "huber", huber_delta = 0.5 }
"""
    suite = parse_suite(text, source="t.toml")
    assert dict(suite.targets[1].settings)["loss"] == "huber"
    resolved = check_settings({**dict(suite.targets[1].settings), "samples": 1000})
    assert resolved["huber_delta"] == 0.5
    bad = text.replace('loss = "huber"', 'loss = "foo"')
    settings = dict(parse_suite(bad, source="t.toml").targets[1].settings)
    with pytest.raises(CsqboundError, match="unknown loss"):
        check_settings(settings)


GAP = "x1*x2*x3 - x1*x2*x4"  # CSQ leap 3, DLQ leap 2 under the SQ-like losses


@pytest.mark.parametrize(("loss", "leap"), [("squared", 3), ("absolute", 2), ("huber", 2)])
def test_a_run_tracks_the_stages_of_its_losss_leap(loss: str, leap: int) -> None:
    run = train(GAP, d=6, replicas=1, samples=64, seed=0, loss=loss, stop_loss=None)
    assert run.leap == leap
    assert run.stage_jumps == (leap,)
    assert run.predicted_stages == (("x1*x2*x3", "x1*x2*x4"),)
    assert run.to_dict()["leap"] == leap


def test_a_loss_run_with_an_easy_stage_first_keeps_both_stages() -> None:
    # x5 + x5*x6 is a staircase (jump 1) for every loss; the GAP part costs 3 (squared), 2 else
    run = train("x5 + x5*x6 + " + GAP, d=8, replicas=1, samples=64, seed=0, loss="logcosh",
                stop_loss=None)  # fmt: skip
    assert run.predicted_stages == (("x5", "x5*x6"), ("x1*x2*x3", "x1*x2*x4"))
    assert run.stage_jumps == (1, 2)
    assert run.leap == 2
    assert run.hardest_stage == 1


def test_gaussian_runs_keep_the_csq_witness_under_any_loss() -> None:
    squared = train("He3(x1)", "gaussian", d=4, replicas=1, samples=64, seed=0, stop_loss=None)
    absolute = train("He3(x1)", "gaussian", d=4, replicas=1, samples=64, seed=0,
                     stop_loss=None, loss="absolute")  # fmt: skip
    assert absolute.leap == squared.leap == 3
    assert absolute.predicted_stages == squared.predicted_stages
