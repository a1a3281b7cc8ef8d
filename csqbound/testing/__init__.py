"""Testing tools for users of csqbound: assertions and hypothesis strategies.

State the claims of a paper as tests::

    from csqbound.testing import assert_leap, assert_csq_exponent
    from csqbound.testing import strategies as cst

    @given(cst.targets_with_leap(3))
    def test_my_class(f):
        assert_leap(f, 3)
        assert_csq_exponent(f, 3)

The assertions (:mod:`csqbound.testing.assertions`) raise ``AssertionError``
with the witness in the message (greedy order and stages, chain of subspaces,
stage table of the CSQ bound, learning times); they need nothing beyond
csqbound. The strategies live in :mod:`csqbound.testing.strategies` and need
hypothesis (``pip install "csqbound[test]"``); import that module explicitly.
:mod:`csqbound.testing.profiles` gives hypothesis profiles suited to csqbound's
functions (no deadline, derandomized): ``load_profile()`` in a ``conftest.py``.

Examples
--------
>>> from csqbound.testing import assert_leap
>>> assert_leap("x1*x2*x3", 3).jumps
(3,)
"""

from __future__ import annotations

from csqbound.testing.assertions import (
    assert_csq_exponent,
    assert_iso_leap,
    assert_leap,
    assert_learns_in_order,
    csq_stage_table,
    iso_witness,
    leap_witness,
)

__all__ = [
    "assert_csq_exponent",
    "assert_iso_leap",
    "assert_leap",
    "assert_learns_in_order",
    "csq_stage_table",
    "iso_witness",
    "leap_witness",
]
