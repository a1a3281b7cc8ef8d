"""The shape of csqbound's JSON documents: a schema version and exact/float field pairs.

Every JSON document csqbound writes (``--format json`` of each command and
``report.json``) follows one convention, applied here once for all of them by
:func:`json_ready`:

* A quantity csqbound can know exactly (a coefficient, a weight, ``norm2``, ``tau``,
  a CSQ bound, ``Gamma_U``, ...; the names in :data:`EXACT_FIELDS`) appears twice,
  always both: ``NAME`` is a string (the exact value, ``"1/3"`` or ``"sqrt(2)/2"``;
  for a numeric result the float written out, and the document's ``exact`` says
  which), and ``NAME_float`` is a JSON number (``null`` only when the value does
  not fit in a float, e.g. a bound of ``1e900``, or is absent).
* A JSON object at the top level starts with ``"schema_version"``
  (:data:`SCHEMA_VERSION`), raised whenever a field changes meaning or goes away.
  A top-level list (``zoo``, ``runs``) has no place for it and carries none.

Examples
--------
>>> doc = json_ready({"coefficient": "1/4", "support": [{"weight": 0.5}]})
>>> doc["schema_version"], doc["coefficient"], doc["coefficient_float"]
(1, '1/4', 0.25)
>>> doc["support"][0]
{'weight': '0.5', 'weight_float': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

__all__ = ["EXACT_FIELDS", "FLOAT_SUFFIX", "SCHEMA_VERSION", "exact_float", "json_ready"]

#: Version of the JSON documents' layout (see the module docstring).
SCHEMA_VERSION = 1
#: Suffix of the float twin of an exact field.
FLOAT_SUFFIX = "_float"
#: Fields that hold a number csqbound may know exactly (expansions, CSQ bounds, report rows).
EXACT_FIELDS = frozenset(
    {
        "coefficient",
        "weight",
        "norm2",
        "tau",
        "bound",
        "bound_ceiling",
        "r_norm2",
        "gamma",
        "queries",
        "accuracy",
        "csq_bound",
    }
)


def exact_float(text: str) -> float | None:
    """The float of an exact value as csqbound prints it; ``None`` beyond float range.

    Rationals and decimals (``"1/3"``, ``"2.5e+900"``) are read with
    :class:`fractions.Fraction`; algebraic numbers (``"sqrt(2)/2"``) with csqbound's
    whitelist parser, never ``eval``.

    Examples
    --------
    >>> exact_float("1/3") == 1 / 3, exact_float("sqrt(2)/2") == 2**0.5 / 2
    (True, True)
    >>> exact_float("1e900") is None
    True
    """
    try:
        value: float = float(Fraction(text))
    except OverflowError:
        return None
    except (ValueError, ZeroDivisionError):
        from csqbound.parsing import parse

        expr = parse(text)
        try:
            value = float(expr)
        except (TypeError, OverflowError):
            return None
    return value if math.isfinite(value) else None


def _pair(name: str, value: Any) -> dict[str, Any]:
    """``{NAME: exact text, NAME_float: number}`` for one exact field's value."""
    if value is None or isinstance(value, bool):
        return {name: value, name + FLOAT_SUFFIX: None}
    if isinstance(value, float):
        finite = math.isfinite(value)
        return {name: repr(value), name + FLOAT_SUFFIX: value if finite else None}
    if isinstance(value, int | Fraction):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:  # a sympy number or any other exact value: its printed form
        text = str(value)
    return {name: text, name + FLOAT_SUFFIX: exact_float(text)}


def _walk(data: Any) -> Any:
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in EXACT_FIELDS and not isinstance(value, Mapping | list | tuple):
                pair = _pair(str(key), value)
                if str(key) + FLOAT_SUFFIX in data:  # the record computed its own float
                    pair.pop(str(key) + FLOAT_SUFFIX)
                out.update(pair)
            else:
                out[key] = _walk(value)
        return out
    if isinstance(data, list | tuple):
        return [_walk(v) for v in data]
    return data


def json_ready(data: Any) -> Any:
    """``data`` with every exact field paired with its float, and a schema version on top.

    Parameters
    ----------
    data
        JSON-ready data: dicts, lists, strings, numbers (nested freely).

    Returns
    -------
    Any
        A new structure (``data`` is not modified): each field named in
        :data:`EXACT_FIELDS` is a string followed by its ``_float`` twin, and a
        top-level dict begins with ``"schema_version"``.
    """
    out = _walk(data)
    if isinstance(out, dict):
        out = {"schema_version": SCHEMA_VERSION, **out}
    return out
