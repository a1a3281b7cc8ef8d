"""How results show in a notebook: short reprs, compact HTML tables, DataFrames.

A result object of csqbound (a :class:`~csqbound.sgd.train.Run`, a
:class:`~csqbound.experiments.verify.Verification`, ...) prints as one short line
(:func:`short_repr`: its headline fields, never its arrays), shows in Jupyter as a
small two-column table (:func:`html_summary`, every value HTML-escaped), and turns
into a :class:`pandas.DataFrame` of its records (:func:`to_dataframe`; pandas is the
optional extra ``csqbound[pandas]``, and its absence is one clear
:class:`~csqbound.errors.BackendUnavailableError` naming the extra).

Examples
--------
>>> short_repr("Run", target="x1", d=8, status={"ok": 2})
"Run(target='x1', d=8, status={'ok': 2})"
>>> "x1 &lt; x2</td>" in html_summary("Run", [("target", "x1 < x2")])
True
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from csqbound.errors import BackendUnavailableError

__all__ = ["PANDAS_HINT", "html_summary", "html_table", "short_repr", "to_dataframe"]

#: How to install the optional DataFrame support.
PANDAS_HINT = "pip install 'csqbound[pandas]'"
#: Longest text of one field in a repr; longer values are cut with an ellipsis.
_FIELD_CHARS = 80


def _cut(text: str, limit: int = _FIELD_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_repr(name: str, **fields: Any) -> str:
    """``Name(key=value, ...)``, each value's repr cut at 80 characters."""
    inner = ", ".join(f"{k}={_cut(repr(v))}" for k, v in fields.items())
    return f"{name}({inner})"


_LEFT = 'style="text-align:left"'


def _cell(tag: str, value: Any, attrs: str = "") -> str:
    """One escaped, left-aligned HTML cell (its text cut at 200 characters)."""
    return f"<{tag} {_LEFT}{attrs}>{html.escape(_cut(str(value), 200))}</{tag}>"


def html_summary(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column HTML table (field, value) with a caption; every cell escaped."""
    body = "".join(f"<tr>{_cell('th', k)}{_cell('td', v)}</tr>" for k, v in rows)
    return f"<table><caption>{html.escape(title)}</caption><tbody>{body}</tbody></table>"


def html_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = 20
) -> str:
    """An HTML table with a caption, a header and at most ``limit`` rows; every cell escaped.

    Rows beyond ``limit`` are counted in a last row (``... 12 more``), so a result with
    thousands of monomials still shows as a small table.

    Examples
    --------
    >>> page = html_table("Support", ["monomial", "coefficient"], [("x1", "1/2")] * 3, limit=2)
    >>> page.count("<tr>"), "1 more" in page
    (4, True)
    """
    head = "".join(_cell("th", c) for c in columns)
    body, extra = [], 0
    for i, row in enumerate(rows):
        if i < limit:
            body.append("<tr>" + "".join(_cell("td", v) for v in row) + "</tr>")
        else:
            extra += 1
    if extra:
        body.append(f"<tr>{_cell('td', f'... {extra} more', f' colspan={len(columns)}')}</tr>")
    return (
        f"<table><caption>{html.escape(title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def to_dataframe(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A :class:`pandas.DataFrame` of ``records`` with ``columns`` in this order.

    Raises
    ------
    BackendUnavailableError
        When pandas is not installed (the message names the extra).
    """
    try:
        import pandas as pd
    except ImportError as exc:
        msg = f"to_dataframe() needs pandas, which is not installed: {PANDAS_HINT}"
        raise BackendUnavailableError(msg) from exc
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=list(columns))
