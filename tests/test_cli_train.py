"""The ``csqbound train`` command: JSON fields, figure, and bad parameters."""

from __future__ import annotations

import json

import pytest

from csqbound.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_fields_and_plot(capsys, tmp_path):
    fig = tmp_path / "run.png"
    code, out, err = run(
        capsys,
        "train",
        "x1 + x1*x2*x3",
        "--d",
        "16",
        "--replicas",
        "4",
        "--samples",
        "20000",
        "--plot",
        str(fig),
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    for key in ("status", "samples_seen", "wall_time", "learning_times", "plateaus"):
        assert key in data
    assert data["status"] == ["ok"] * 4
    assert len(data["samples_seen"]) == 4
    assert set(data["learning_times"]) == {"x1", "x1*x2*x3"}
    assert data["learning_times"]["x1"] < data["learning_times"]["x1*x2*x3"]
    assert fig.stat().st_size > 10_000


def test_train_table_and_budget(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # tables follow the terminal; wide enough for one line
    code, out, err = run(
        capsys, "train", "x1*x2*x3", "--d", "16", "--replicas", "2", "--samples", "64", "-q"
    )
    assert code == 0, err
    assert "budget_exhausted: 2" in out
    assert "x1*x2*x3" in out


def test_train_stop_loss_none_trains_to_budget(capsys):
    code, out, _ = run(
        capsys,
        "train",
        "x1",
        "--d",
        "8",
        "--replicas",
        "2",
        "--samples",
        "800",
        "--stop-loss",
        "none",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["samples_seen"] == [800, 800]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "x1*x2*x3", "--d", "2"], "d"),
        (["train", "x1", "--d", "8", "--width", "0"], "width"),
        (["train", "x1", "--d", "8", "--lr", "-1"], "lr"),
        (["train", "x1", "--d", "8", "--backend", "jax"], "backend"),
        (["train", "x1", "--d", "8", "--stop-loss", "abc"], "stop-loss"),
        (["train", "x1", "--d", "8", "--plot", "out.txt"], "plot"),
        (["train", "1", "--d", "8"], "constant"),
    ],
)
def test_train_bad_parameters(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err.lower()


def test_absurd_step_size_is_recorded_not_raised(capsys):
    code, out, err = run(
        capsys,
        "train",
        "x1*x2",
        "--d",
        "8",
        "--replicas",
        "3",
        "--samples",
        "2000",
        "--lr",
        "1e6",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["status"] == ["diverged"] * 3


def test_cli_defaults_are_trains_defaults() -> None:
    # one set of defaults (issue 14): train and verify on the command line default to
    # csqbound.train's own keyword defaults, as the TOML suites and Python verify() do
    import inspect

    import typer

    import csqbound
    from csqbound.cli import app

    params = inspect.signature(csqbound.train).parameters
    commands = {c.callback.__name__: c.callback for c in typer.main.get_command(app).commands.values()}
    for name in ("train", "verify"):
        sig = inspect.signature(commands[name])
        for key in ("width", "replicas", "batch", "samples", "stop_loss", "schedule",
                    "output_step", "step_rule", "loss"):  # fmt: skip
            default = sig.parameters[key].default
            expected = params[key].default
            assert str(default) == str(expected), (name, key, default, expected)
