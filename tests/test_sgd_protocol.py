"""The training protocol: output-layer step, layer-wise schedule, step rule (issue: calibrated verification)."""

from __future__ import annotations

import numpy as np
import pytest

import csqbound.sgd.train as train_module
from csqbound.errors import ParameterError
from csqbound.sgd.backend import to_numpy
from csqbound.sgd.protocol import resolve_protocol
from csqbound.sgd.train import train


def test_output_ratio_is_honoured() -> None:
    mf = resolve_protocol(eta0=0.5, width=64, d=32)
    assert mf.lr_out == pytest.approx(0.5 / (64 * 32))
    assert mf.lr_hidden == pytest.approx(0.5 * 64 / 32)
    wide = resolve_protocol(eta0=0.5, width=64, d=32, output_step="width")
    assert wide.lr_out == pytest.approx(64 * mf.lr_out)
    eight = resolve_protocol(eta0=0.5, width=64, d=32, output_step=8)
    assert eight.lr_out == pytest.approx(8 * mf.lr_out)
    assert eight.output_ratio == 8.0


def test_step_rule_scales_with_the_predicted_exponent() -> None:
    for k, factor in ((1, 1.0), (2, 1.0), (3, 16**-0.5), (4, 16**-1.0)):  # (d / D_REF)^-(k-2)/2
        p = resolve_protocol(eta0=0.1, width=64, d=256, step_rule="exponent", exponent=k)
        assert p.step_factor == pytest.approx(factor)
        assert p.lr_hidden == pytest.approx(0.1 * 64 / 256 * factor)
    # at d = D_REF the rule's step is the 1/d step; below it, larger
    for d in (8, 16):  # up to D_REF the rule's step is the 1/d step
        assert resolve_protocol(eta0=0.1, width=64, d=d, step_rule="exponent", exponent=3).step_factor == 1.0
    assert resolve_protocol(eta0=0.1, width=64, d=32, step_rule="exponent", exponent=4).step_factor == 0.5
    with pytest.raises(ParameterError, match="predicted exponent"):
        resolve_protocol(eta0=0.1, width=64, d=256, step_rule="exponent")


def test_runs_record_the_protocol_and_use_its_steps(monkeypatch) -> None:
    seen: list[tuple[float, float]] = []
    original = train_module.sgd_step

    def step(params, X, y, scale, lr_hidden, lr_out, *rest):  # type: ignore[no-untyped-def]
        seen.append((lr_hidden, lr_out))
        return original(params, X, y, scale, lr_hidden, lr_out, *rest)

    monkeypatch.setattr(train_module, "sgd_step", step)
    run = train("x1*x2*x3", d=16, replicas=2, samples=2000, output_step=4.0,
                step_rule="exponent", stop_loss=None)  # fmt: skip
    s = run.settings
    assert (s["output_step"], s["step_rule"], s["step_exponent"]) == (4.0, "exponent", 3)
    assert s["step_factor"] == 1.0  # d = 16 = D_REF
    assert {pair for pair in seen} == {(s["lr_hidden"], s["lr_out"])}
    assert s["lr_out"] == pytest.approx(4.0 * 0.5 / (64 * 16))


def test_layerwise_second_layer_does_not_move_in_phase_one(monkeypatch) -> None:
    captured = {}
    original = train_module._Loop.__init__

    def init(self, params, *args, **kwargs):  # type: ignore[no-untyped-def]
        captured["a0"] = np.array(to_numpy(params.a), copy=True)
        captured["W0"] = np.array(to_numpy(params.W), copy=True)
        captured["loop"] = self  # the steps are pure: the loop holds the latest Params
        original(self, params, *args, **kwargs)

    monkeypatch.setattr(train_module._Loop, "__init__", init)
    run = train("x1 + x1*x2", d=16, replicas=2, samples=40_000, schedule="layerwise", seed=3)
    assert np.array_equal(to_numpy(captured["loop"].params.a), captured["a0"])
    assert not np.allclose(to_numpy(captured["loop"].params.W), captured["W0"])  # phase one trains W
    assert run.settings["schedule"] == "layerwise"
    # phase two (the ridge readout) fits the features: the target is learned
    assert all(t is not None for t in run.stage_end)


def test_stage_end_and_loss_times_are_recorded() -> None:
    run = train("x1 + x1*x2*x3", d=16, replicas=3, samples=200_000, seed=0)
    assert run.hardest_stage == 1 and run.stage_jumps == (1, 2)
    assert run.stage_end == run.learning_times["x1*x2*x3"]
    for eps in ("0.2", "0.05"):
        assert len(run.loss_times[eps]) == 3
    for r in range(3):  # the loss reaches 0.2 Var f before 0.05 Var f, and 0.05 is the stop
        assert run.loss_times["0.2"][r] <= run.loss_times["0.05"][r]
        assert run.loss_times["0.05"][r] == run.samples_to_learn[r]
    assert run.to_dict()["stage_end"] == list(run.stage_end)


def test_bad_protocol_names_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="schedule"):
        train("x1", d=4, schedule="alternating")
    with pytest.raises(ParameterError, match="output_step"):
        train("x1", d=4, output_step=-1)
    with pytest.raises(ParameterError, match="step rule"):
        train("x1", d=4, step_rule="1/sqrt(d)")
