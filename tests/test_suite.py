"""The report suite file: the built-in suite loads; every bad file is one clear error."""

from __future__ import annotations

import pytest

from csqbound.errors import CsqboundError
from csqbound.report.suite import default_suite_path, load_suite, parse_suite

GOOD = """
[report]
d = [8, 16]
seeds = 2
[settings]
replicas = 4
[[target]]
expression = "x1*x2"
[[target]]
catalog = "hermite2"
settings = { lr = 0.05 }
"""


def test_builtin_suite_covers_leaps_1_2_3_and_gaussian():
    import csqbound

    suite = load_suite()
    assert default_suite_path().is_file()
    leaps = {csqbound.leap(t.target).leap for t in suite.targets if t.domain == "boolean"}
    assert {1, 2, 3} <= leaps
    assert any(t.domain == "gaussian" for t in suite.targets)


def test_good_suite_merges_settings():
    suite = parse_suite(GOOD)
    assert [t.name for t in suite.targets] == ["x1*x2", "hermite2"]
    assert suite.targets[1].domain == "gaussian"
    assert suite.targets[1].settings == {"replicas": 4, "lr": 0.05}
    assert suite.csq_d == 16


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("this is = = not toml", "not valid TOML"),
        ("[report]\nd = [8, 16]\ncolour = 'red'\n[[target]]\nexpression = 'x1'", "colour"),
        ("[report]\nd = [8, 16]\n[settings]\nwidht = 3\n[[target]]\nexpression = 'x1'", "widht"),
        ("[report]\nd = [2, 4]\n[[target]]\nexpression = 'x1*x2*x3'", "smaller than"),
        ("[report]\nd = []\n[[target]]\nexpression = 'x1'", "non-empty"),
        ("[report]\nd = [8]\n[[target]]\nexpression = 'x1'", "two distinct"),
        ("[report]\nd = [8, 16]", "no targets"),
        ("[report]\nd = [8, 16]\n[[target]]\nexpression = 'x1 +* 2'", "syntax"),
        ("[report]\nd = [8, 16]\n[[target]]\nexpression = 'x1'\nseed = 3", "seed"),
        ("[report]\nd = [8, 16]\n[settings]\nlr = -1\n[[target]]\nexpression = 'x1'", "positive"),
        ("[report]\nd = [8, 16]\ntau = 'abc'\n[[target]]\nexpression = 'x1'", "tau"),
        ("[report]\nd = [8, 16]\n[[target]]\nexpression = '3'", "constant"),
        ("[report]\nd = [8, 16]\n[[target]]\ncatalog = 'nope'", "no catalog entry"),
        ("[extra]\n[report]\nd = [8, 16]", "unknown table"),
    ],
)
def test_bad_suites_are_one_clear_error(text, needle):
    with pytest.raises(CsqboundError) as info:
        parse_suite(text, source="s.toml")
    message = str(info.value)
    assert needle in message
    assert "\n" not in message.strip()


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(CsqboundError, match="no such suite file"):
        load_suite(tmp_path / "nope.toml")
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CsqboundError, match="b.toml"):
        load_suite(binary)
