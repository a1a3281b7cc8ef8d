"""Rows to text: plain tables, markdown, JSON and LaTeX (booktabs, escaped).

Library functions return data; this module only renders it. A :class:`Table`
is a header plus rows of strings; :func:`render` turns it into one of the
output formats every CLI command shares. Cells are plain text and escaped for
LaTeX, except cells wrapped in :class:`Math`, which are LaTeX math already
built by csqbound itself (never from user text).
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from csqbound.errors import CsqboundError
from csqbound.monomial import Monomial

__all__ = [
    "ALL",
    "PIPE_WIDTH",
    "TEXTWIDTH_PT",
    "Format",
    "Math",
    "Table",
    "check_format",
    "expression_latex",
    "latex_document",
    "latex_escape",
    "monomial_latex",
    "parse_columns",
    "prose_latex",
    "render",
    "render_tables",
    "scale_latex",
    "select_columns",
    "terminal_width",
    "to_json",
]

Format = Literal["table", "json", "markdown", "latex"]

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


# Non-ASCII symbols that turn up in csqbound's own labels and in user text, as LaTeX
# that compiles without extra packages; anything else outside Latin-1 is transliterated.
_LATEX_UNICODE = {
    "∘": r"\ensuremath{\circ}",
    "→": r"\ensuremath{\to}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "≠": r"\ensuremath{\ne}",
    "≈": r"\ensuremath{\approx}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "−": "-",
    "–": "--",
    "—": "---",
    "√": r"\ensuremath{\surd}",
    "∞": r"\ensuremath{\infty}",
    "∈": r"\ensuremath{\in}",
    "⊆": r"\ensuremath{\subseteq}",
    "⊂": r"\ensuremath{\subset}",
    "∪": r"\ensuremath{\cup}",
    "∩": r"\ensuremath{\cap}",
    "∅": r"\ensuremath{\emptyset}",
    "‖": r"\ensuremath{\|}",
    "²": r"\ensuremath{^2}",
    "³": r"\ensuremath{^3}",
    "…": r"\ldots{}",
    "“": "``",
    "”": "''",
    "‘": "`",
    "’": "'",
}
_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
for _i, _name in enumerate(_GREEK):
    _LATEX_UNICODE[chr(0x3B1 + _i + (1 if _i >= 17 else 0))] = rf"\ensuremath{{\{_name}}}"
_LATEX_UNICODE["ο"] = "o"
_LATEX_UNICODE.update(
    {
        "ß": r"\ss{}",
        "æ": r"\ae{}",
        "Æ": r"\AE{}",
        "ø": r"\o{}",
        "Ø": r"\O{}",
        "œ": r"\oe{}",
        "Œ": r"\OE{}",
        "ł": r"\l{}",
        "Ł": r"\L{}",
        "¡": "!`",
        "¿": "?`",
        "£": r"\pounds{}",
        "§": r"\S{}",
        "¶": r"\P{}",
        "©": r"\copyright{}",
        "°": r"\ensuremath{^\circ}",
        "±": r"\ensuremath{\pm}",
        "µ": r"\ensuremath{\mu}",
        "¬": r"\ensuremath{\neg}",
        "÷": r"\ensuremath{\div}",
        "¹": r"\ensuremath{^1}",
        "\xa0": "~",
    }
)
# Accents as LaTeX accent commands, so accented letters compile in any font encoding.
_LATEX_ACCENTS = {
    "\u0300": "\\`",
    "\u0301": "\\'",
    "\u0302": "\\^",
    "\u0303": "\\~",
    "\u0304": "\\=",
    "\u0306": "\\u",
    "\u0307": "\\.",
    "\u0308": '\\"',
    "\u030a": "\\r",
    "\u030b": "\\H",
    "\u030c": "\\v",
    "\u0327": "\\c",
    "\u0328": "\\k",
}


def _latex_non_ascii(ch: str) -> str:
    """One non-ASCII character as LaTeX that needs no package beyond the kernel."""
    if ch in _LATEX_UNICODE:
        return _LATEX_UNICODE[ch]
    parts = unicodedata.normalize("NFKD", ch)
    base, marks = parts[:1], parts[1:]
    if base.isascii() and base.isalpha() and marks and all(m in _LATEX_ACCENTS for m in marks):
        out = base
        for mark in marks:
            out = _LATEX_ACCENTS[mark] + "{" + out + "}"
        return out
    ascii_form = parts.encode("ascii", "ignore").decode()
    return latex_escape(ascii_form) if ascii_form else "?"


def check_format(fmt: str) -> Format:
    """Validate an output format name.

    Examples
    --------
    >>> check_format("latex")
    'latex'
    """
    match fmt:
        case "table" | "json" | "markdown" | "latex":
            return fmt  # type: ignore[return-value]
        case _:
            msg = f"unknown format {fmt!r}: use table, json, markdown or latex"
            raise CsqboundError(msg)


def latex_escape(text: str) -> str:
    r"""Escape text for LaTeX's text mode (every special character, control characters dropped).

    Examples
    --------
    >>> latex_escape("x1*x2 & 50% of $_{}")
    'x1*x2 \\& 50\\% of \\$\\_\\{\\}'
    >>> latex_escape("a\\b~c^d")
    'a\\textbackslash{}b\\textasciitilde{}c\\textasciicircum{}d'
    """
    out = []
    for ch in str(text):
        if ch in _LATEX_SPECIALS:
            out.append(_LATEX_SPECIALS[ch])
        elif ch in "\n\t\r":
            out.append(" ")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            continue
        elif ch.isascii():
            out.append(ch)
        else:
            out.append(_latex_non_ascii(ch))
    return "".join(out)


@dataclass(frozen=True)
class Math:
    """A cell (or caption) of LaTeX built by csqbound itself, never escaped, with a text twin.

    ``latex`` is LaTeX source for text mode (math inside ``$...$``), built only from
    csqbound's own notation or from user text it has escaped or parsed; ``text`` is what
    the plain-text, markdown and JSON renderings show. ``numeric`` right-aligns the
    cell's column in LaTeX.
    """

    latex: str
    text: str
    numeric: bool = False

    def __str__(self) -> str:
        return self.text

    @staticmethod
    def join(*parts: str | Math) -> Math:
        r"""Concatenate text (escaped for LaTeX) and :class:`Math` parts into one cell.

        Examples
        --------
        >>> Math.join("Leap of ", expression_latex("x1*x2")).latex
        'Leap of $x_{1}x_{2}$'
        """
        latex = "".join(p.latex if isinstance(p, Math) else latex_escape(p) for p in parts)
        return Math(latex, "".join(str(p) for p in parts))


def monomial_latex(monomial: Monomial) -> Math:
    r"""LaTeX math for a monomial: ``x_{1}x_{2}`` or ``\mathrm{He}_{2}(x_{1})\,x_{3}``.

    Examples
    --------
    >>> monomial_latex(Monomial.from_mapping({1: 2, 3: 1})).latex
    '$\\mathrm{He}_{2}(x_{1})\\,x_{3}$'
    >>> monomial_latex(Monomial.from_mapping({1: 1, 2: 1, 3: 1})).latex
    '$x_{1}x_{2}x_{3}$'
    """
    if not monomial.powers:
        return Math("$1$", "1", numeric=True)
    parts = [
        f"x_{{{c}}}" if k == 1 else f"\\mathrm{{He}}_{{{k}}}(x_{{{c}}})" for c, k in monomial.powers
    ]
    out = parts[0]
    for prev, part in zip(parts, parts[1:], strict=False):
        out += (r"\," if part.startswith("\\") or prev.endswith(")") else "") + part
    return Math("$" + out + "$", str(monomial))


_FUNCTION_LATEX = {
    "sqrt": None,  # \sqrt{...}
    "abs": None,  # |...|
    "Abs": None,
    "sign": r"\mathrm{sign}",
    "relu": r"\mathrm{relu}",
    "max": r"\max",
    "Max": r"\max",
    "min": r"\min",
    "Min": r"\min",
    "tanh": r"\tanh",
    "exp": r"\exp",
    "sin": r"\sin",
    "cos": r"\cos",
}


def expression_latex(text: str) -> Math:
    r"""A target expression as LaTeX math: ``x1*x2*x3`` is ``$x_{1}x_{2}x_{3}$``.

    The text is read by :func:`ast.parse` and only the constructs of
    :mod:`csqbound.parse` are converted (``He3(x1)`` is ``\mathrm{He}_{3}(x_{1})``);
    anything else is shown as escaped text, so the result always compiles. The plain
    text twin is the text as given.

    Examples
    --------
    >>> expression_latex("x1 + x1*x2*x3").latex
    '$x_{1} + x_{1}x_{2}x_{3}$'
    >>> expression_latex("He3((x1 - x2)/sqrt(2))").latex
    '$\\mathrm{He}_{3}((x_{1} - x_{2})/\\sqrt{2})$'
    >>> expression_latex("max(x1, -x2) ** 2").latex
    '$\\max(x_{1}, -x_{2})^{2}$'
    """
    import ast

    try:
        tree = ast.parse(text.strip(), mode="eval").body
        return Math("$" + _ast_latex(tree, 0) + "$", text)
    except (SyntaxError, ValueError, RecursionError):
        return Math(latex_escape(text), text)


_PRECEDENCE = {"Add": 0, "Sub": 0, "Mult": 1, "Div": 1}


def _ast_latex(node: Any, parent: int, right: bool = False) -> str:
    """One node of a whitelisted expression tree as LaTeX math (``ValueError`` if unknown).

    ``parent`` is the precedence of the enclosing operator: 0 sum, 1 product, 2 unary
    minus, 3 power base; a node of lower precedence is parenthesised, and so is a sign
    on the right of a product (``2*(-x1)``) or a power as a base (``(x1^2)^3``).
    """
    import ast

    if isinstance(node, ast.Name):
        match = re.fullmatch(r"x(\d+)", node.id)
        if match is None:
            raise ValueError(node.id)
        return f"x_{{{match.group(1)}}}"
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError(node.value)
        return str(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        inner = sign + _ast_latex(node.operand, 2)
        return f"({inner})" if parent >= 2 or (parent == 1 and right) else inner
    if isinstance(node, ast.BinOp):
        op = type(node.op).__name__
        if op == "Pow":
            power = f"{_ast_latex(node.left, 3)}^{{{_ast_latex(node.right, 0)}}}"
            return f"({power})" if parent >= 3 else power
        if op not in _PRECEDENCE:
            raise ValueError(op)
        mine = _PRECEDENCE[op]
        left = _ast_latex(node.left, mine)
        second = _ast_latex(node.right, mine + (op in ("Sub", "Div")), right=True)
        match op:
            case "Add":
                out = f"{left} + {second}"
            case "Sub":
                out = f"{left} - {second}"
            case "Div":
                out = f"{left}/{second}"
            case _:
                # juxtapose factors; a number after a factor needs a visible product
                sep = r"\cdot " if second[:1].isdigit() or second[:1] in "-+" else ""
                if not sep and (second.startswith("\\") or left.endswith(")")):
                    sep = r"\,"
                out = f"{left}{sep}{second}"
        return f"({out})" if mine < parent else out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name, args = node.func.id, node.args
        hermite = re.fullmatch(r"He(\d+)", name)
        if hermite is not None and len(args) == 1:
            return rf"\mathrm{{He}}_{{{hermite.group(1)}}}({_ast_latex(args[0], 0)})"
        if name == "He" and len(args) == 2:
            return rf"\mathrm{{He}}_{{{_ast_latex(args[0], 0)}}}({_ast_latex(args[1], 0)})"
        if name == "sqrt" and len(args) == 1:
            return rf"\sqrt{{{_ast_latex(args[0], 0)}}}"
        if name in ("abs", "Abs") and len(args) == 1:
            return f"|{_ast_latex(args[0], 0)}|"
        if name in _FUNCTION_LATEX and args:
            inner = ", ".join(_ast_latex(a, 0) for a in args)
            return f"{_FUNCTION_LATEX[name]}({inner})"
    raise ValueError(type(node).__name__)


def scale_latex(text: str) -> Math:
    r"""A growth law ``d``, ``d log d``, ``d^2``, ``d^1.5 log^2 d`` as LaTeX math.

    Text that is not such a law is escaped and kept as text.

    Examples
    --------
    >>> scale_latex("d log d").latex, scale_latex("d^2").latex
    ('$d\\log d$', '$d^{2}$')
    >>> scale_latex("d^1.5 log^2 d").latex
    '$d^{1.5}\\log^{2} d$'
    """
    match = re.fullmatch(
        r"\s*d(?:\^\{?(-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?)\}?)?(?:\s*log(?:\^\{?(-?\d+(?:\.\d+)?)\}?)?\s*d)?\s*",
        text,
    )
    if match is None:
        return Math(latex_escape(text), text)
    k, q = match.group(1), match.group(2)
    out = "d" if k is None else f"d^{{{k}}}"
    if "log" in text:
        out += r"\log" + ("" if q is None else f"^{{{q}}}") + " d"
    return Math(f"${out}$", text)


def prose_latex(text: str) -> str:
    r"""Escape a sentence for LaTeX, setting ``d^k``, ``d log d``, ``tau`` and ``Gamma_U`` as math.

    Examples
    --------
    >>> prose_latex("grows as d^3 queries, tau = 1/100, 50%")
    'grows as $d^{3}$ queries, $\\tau$ = 1/100, 50\\%'
    """
    pattern = re.compile(
        r"\bd(?:\^\{?-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?\}?)?(?:\s*log(?:\^\{?-?\d+(?:\.\d+)?\}?)?\s*d)(?![\w^])"
        r"|\bd\^\{?-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?\}?(?![\w^/])|\btau\b|\bGamma_U\b"
    )
    out, last = [], 0
    for found in pattern.finditer(text):
        out.append(latex_escape(text[last : found.start()]))
        word = found.group(0)
        if word == "tau":
            out.append(r"$\tau$")
        elif word == "Gamma_U":
            out.append(r"$\Gamma_U$")
        else:
            out.append(scale_latex(word).latex)
        last = found.end()
    out.append(latex_escape(text[last:]))
    return "".join(out)


Cell = str | int | float | Math | None
Note = str | tuple[str, ...]


def _key(name: object) -> str:
    """A column name as :func:`select_columns` matches it: case and spacing ignored."""
    return " ".join(str(name).lower().split())


@dataclass(frozen=True)
class Table:
    """A header and rows of cells, with an optional title (caption in LaTeX) and notes.

    Attributes
    ----------
    columns
        Column names (a :class:`Math` name shows as math in LaTeX, its text elsewhere).
    rows
        One tuple of cells per row.
    title, label
        Caption and ``\\label`` in LaTeX; the title above the text table.
    notes
        Sentences about the table: paragraphs under it in LaTeX, a table of their own
        (``notes_title``, ``notes_columns``) in text and markdown. A note is a string or,
        for several ``notes_columns``, a tuple of strings.
    compact
        The columns LaTeX shows by default (all when ``None``); ``columns=`` of
        :func:`render` chooses others.

    Examples
    --------
    >>> t = Table(("target", "leap"), (("x1*x2", 2),))
    >>> print(render(t, "markdown"))
    | target | leap |
    |---|---|
    | x1*x2 | 2 |
    """

    columns: tuple[str | Math, ...]
    rows: tuple[tuple[Cell, ...], ...]
    title: str | Math | None = None
    label: str | None = None
    notes: tuple[Note, ...] = ()
    notes_title: str | None = None
    notes_columns: tuple[str, ...] = ("note",)
    compact: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                msg = (
                    f"row {row!r} has {len(row)} cells "
                    f"but the table has {len(self.columns)} columns"
                )
                raise CsqboundError(msg)
        names = [_key(c) for c in self.columns]
        missing = [c for c in self.compact or () if _key(c) not in names]
        if missing:
            msg = f"compact columns {missing} are not columns of the table ({names})"
            raise CsqboundError(msg)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Cell]], columns: Sequence[str], title: str | None = None
    ) -> Table:
        """Build from dicts, taking ``columns`` in order (missing keys are empty)."""
        rows = tuple(tuple(rec.get(c) for c in columns) for rec in records)
        return cls(tuple(columns), rows, title)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names as text (what ``--columns`` matches, case and spacing ignored)."""
        return tuple(str(c) for c in self.columns)

    def select(self, names: Sequence[str]) -> Table:
        """The table with only the columns ``names``, in that order (unknown names skipped).

        Examples
        --------
        >>> Table(("a", "b", "c"), ((1, 2, 3),)).select(["c", "A"]).rows
        ((3, 1),)
        """
        index = {_key(c): j for j, c in enumerate(self.columns)}
        keep = [index[_key(n)] for n in names if _key(n) in index]
        return replace(
            self,
            columns=tuple(self.columns[j] for j in keep),
            rows=tuple(tuple(row[j] for j in keep) for row in self.rows),
            compact=None,
        )


#: ``columns=ALL``: every column of a table.
ALL: tuple[str, ...] = ("all",)


def parse_columns(text: str | None) -> tuple[str, ...] | None:
    """The ``--columns`` option: ``None`` (the default set), ``("all",)`` or names.

    Examples
    --------
    >>> parse_columns("target, log10 bound"), parse_columns(None)
    (('target', 'log10 bound'), None)
    """
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        msg = "--columns needs column names separated by commas, or 'all'"
        raise CsqboundError(msg)
    return ALL if any(_key(n) == "all" for n in names) else names


def select_columns(tables: Sequence[Table], columns: Sequence[str] | None, fmt: str) -> list[Table]:
    """The tables as they are shown: ``columns`` picked from each (tables without any are
    left out), or by default every column in text and markdown and the compact set in LaTeX.

    Raises
    ------
    CsqboundError
        When a name in ``columns`` is a column of none of the tables (the message lists them).

    Examples
    --------
    >>> a = Table(("x", "y"), ((1, 2),), compact=("x",))
    >>> b = Table(("z",), ((3,),))
    >>> [t.names for t in select_columns([a, b], None, "latex")]
    [('x',), ('z',)]
    >>> [t.names for t in select_columns([a, b], ["y"], "table")]
    [('y',)]
    """
    if columns is None:
        if fmt != "latex":
            return list(tables)
        return [t if t.compact is None else t.select(t.compact) for t in tables]
    if isinstance(columns, str):
        columns = parse_columns(columns) or ()
    if tuple(columns) == ALL:
        return list(tables)
    known = {_key(n): n for t in tables for n in t.names}
    unknown = [n for n in columns if _key(n) not in known]
    if unknown:
        msg = (
            f"unknown column(s) {', '.join(map(repr, unknown))} for --columns; "
            f"choose from: {', '.join(known.values())} (or all)"
        )
        raise CsqboundError(msg)
    wanted = {_key(n) for n in columns}
    return [t.select(columns) for t in tables if wanted & {_key(n) for n in t.names}]


def render_tables(tables: Sequence[Table], fmt: str, columns: Sequence[str] | None = None) -> str:
    """Render several tables (one CLI command's output), columns chosen by :func:`select_columns`.

    Examples
    --------
    >>> t = Table(("a", "b"), ((1, 2),), compact=("a",))
    >>> print(render_tables([t], "markdown", ["b"]))
    | b |
    |---|
    | 2 |
    """
    fmt = check_format(fmt)
    return "\n\n".join(render(t, fmt, ALL) for t in select_columns(tables, columns, fmt))


def _plain(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.6g}"
    return str(cell)


# --- LaTeX cells: numbers right-aligned and typeset, booleans as words ----------------------

_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+|-?\d+(?:\.\d+)?[eE][-+]?\d+")
_FRACTION = re.compile(r"(-?\d+)/(\d+)")
_NUMERIC_ISH = re.compile(
    r"[-+\d\s.,:/\[\]()%]*\d[-+\d\s.,:/\[\]()%]*|[-+\d\s.,\[\]]*inf[-+\d\s.,\[\]]*"
)
_PLACEHOLDERS = ("", "-", "--")


def _minus(text: str) -> str:
    """``-`` as a minus sign before a number, as an en dash between numbers (``8--32``)."""
    text = re.sub(r"(?<=\d)-(?=\d)", "--", text)
    return re.sub(r"(?<![\d)-])-(?=[\d.]|inf)", r"\\ensuremath{-}", text)


def _sci(x: float) -> str:
    r"""``8.33\times10^{12}`` in math, three significant digits."""
    mantissa, _, exponent = f"{x:.3g}".partition("e")
    if not exponent:
        return f"${mantissa}$"
    return rf"${mantissa}\times10^{{{int(exponent)}}}$"


def _no_bracket(latex: str) -> str:
    """Text that can follow ``\\``: a leading ``[`` would be read as its optional argument."""
    return "{}" + latex if latex.startswith("[") else latex


def _latex_cell(cell: Cell) -> tuple[str, bool | None]:
    """A cell as LaTeX, and whether it is a number (``None``: empty, says nothing).

    Numbers too long for a column (more than 8 digits, or exact fractions of more than
    9 characters) are shown to three significant digits as ``a\\times10^{b}``.
    """
    if isinstance(cell, Math):
        return cell.latex, cell.numeric
    if isinstance(cell, bool):
        return ("yes" if cell else "no"), False
    if isinstance(cell, int):
        return (_sci(cell) if abs(cell) >= 10**8 else _minus(str(cell))), True
    if isinstance(cell, float):
        if math.isnan(cell):
            return "--", None
        if math.isinf(cell):
            return (r"$-\infty$" if cell < 0 else r"$\infty$"), True
        text = f"{cell:.6g}"
        return (_sci(cell) if "e" in text else _minus(text)), True
    text = _plain(cell).strip()
    if text in _PLACEHOLDERS:
        return ("--" if text else ""), None
    if _INT.fullmatch(text):
        return (_sci(int(text)) if len(text.lstrip("-")) > 8 else _minus(text)), True
    if _DECIMAL.fullmatch(text):
        return (_sci(float(text)) if "e" in text.lower() or len(text) > 10 else _minus(text)), True
    fraction = _FRACTION.fullmatch(text)
    if fraction is not None:
        p, q = int(fraction.group(1)), int(fraction.group(2))
        if len(text) <= 9 or q == 0:
            return f"${text}$", True
        return _sci(p / q), True
    if _NUMERIC_ISH.fullmatch(text):
        return _minus(latex_escape(text)).replace("inf", r"\ensuremath{\infty}"), True
    return latex_escape(text), False


# --- LaTeX widths: an estimate in points of Computer Modern 10 pt ------------------------------

#: ``\textwidth`` of a plain ``article`` (10 pt, letter or A4 paper), in points.
TEXTWIDTH_PT = 345.0

_CHAR_PT = {
    **dict.fromkeys("abdeghknopquvxyz", 5.3),
    **dict.fromkeys("cers", 4.4),
    **dict.fromkeys("fjt", 3.6),
    **dict.fromkeys("il", 2.8),
    "m": 8.4,
    "w": 7.3,
    **dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 7.6),
    "I": 3.7,
    "M": 9.2,
    "W": 10.3,
    **dict.fromkeys("0123456789", 5.0),
    **dict.fromkeys(".,:;'!`|", 2.8),
    **dict.fromkeys("()[]", 3.9),
    **dict.fromkeys("+=<>&", 7.8),
    **dict.fromkeys("%#", 8.4),
    "-": 3.4,
    " ": 3.4,
    "~": 3.4,
}
_COMMAND_PT = {
    "times": 7.8, "cdot": 2.8, "log": 12.8, "max": 15.3, "min": 13.6, "tanh": 20.0,
    "exp": 14.0, "sin": 11.7, "cos": 13.0, "sqrt": 8.4, "Gamma": 6.3, "tau": 4.4,
    "infty": 10.0, "emptyset": 5.0, "to": 10.0, "le": 7.8, "ge": 7.8, "approx": 7.8,
    "lvert": 2.8, "rvert": 2.8, "ldots": 13.4, "dots": 13.4, ",": 1.7, " ": 3.4,
    "textless": 7.8, "textgreater": 7.8, "textbar": 2.8, "|": 5.0,
    "operatorname": 0.0, "mathrm": 0.0, "ensuremath": 0.0, "emph": 0.0, "left": 0.0,
    "right": 0.0, "raggedright": 0.0, "minus": 7.8,
}  # fmt: skip
_TEX_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)


def _tex_width(latex: str) -> float:
    """Estimated width in points of LaTeX text at 10 pt (scripts at 70%, math spacing).

    Within about 10% of pdflatex's on csqbound's tables (math letters are wider than
    text letters, hence the factor 1.1); :func:`_layout` leaves a margin for the rest.
    """
    width, math_mode, pending = 0.0, False, False
    scales = [1.0]
    for token in _TEX_TOKEN.findall(latex.replace(r"\ensuremath{-}", r"\minus")):
        scale = scales[-1] * (0.7 if pending else 1.0)
        if token == "{":
            scales.append(scale)
            pending = False
            continue
        if token == "}":
            if len(scales) > 1:
                scales.pop()
            continue
        if token == "$":
            math_mode = not math_mode
            continue
        if math_mode and token in "_^":
            pending = True
            continue
        if token.startswith("\\"):
            name = token[1:]
            w = _COMMAND_PT.get(name, 5.0 if len(name) == 1 else 7.0)
        elif math_mode and token == " ":
            w = 0.0
        elif math_mode and token in "+-=" and not pending:
            w = 7.8 + 4.4
        else:
            w = _CHAR_PT.get(token, 5.0) * (1.1 if math_mode and token.isalpha() else 1.0)
        width += w * scale
        pending = False
    return width


def _tex_words(latex: str) -> list[str]:
    """The pieces a paragraph column can break the cell into (at spaces)."""
    return latex.split(" ")


@dataclass(frozen=True)
class _Layout:
    size: str | None  # \small, \footnotesize
    sep: float  # \tabcolsep in points
    split: bool  # long headers on two lines
    specs: tuple[str, ...]  # l, r or p{...}


_SIZES: tuple[tuple[str | None, float, float], ...] = (
    (None, 1.0, 6.0),
    (r"\small", 0.925, 5.0),  # cmr9 is relatively wider than cmr10: not 0.9
    (r"\footnotesize", 0.85, 4.0),
    (r"\scriptsize", 0.8, 3.0),  # only for paragraph columns that do not fit otherwise
)


def _split_header(latex: str) -> tuple[str, str] | None:
    """A header of several words as two lines: broken at the space (outside math and
    braces) that makes the wider line narrowest."""
    spaces, depth, math_mode = [], 0, False
    for i, ch in enumerate(latex):
        if ch == "$":
            math_mode = not math_mode
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == " " and depth == 0 and not math_mode and 0 < i < len(latex) - 1:
            spaces.append(i)
    if not spaces:
        return None
    cut = min(spaces, key=lambda i: max(_tex_width(latex[:i]), _tex_width(latex[i + 1 :])))
    return latex[:cut], latex[cut + 1 :]


def _header_latex(name: str | Math, split: bool, align: str) -> str:
    latex = _latex_text(name)
    parts = _split_header(latex) if split else None
    if parts is None:
        return latex
    top, bottom = (_no_bracket(p) for p in parts)
    return rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}{top}\\{bottom}\end{{tabular}}"


def _layout(headers: Sequence[str | Math], cells: list[list[str]], numeric: list[bool]) -> _Layout:
    """Choose the size, column separation, header breaks and column types that fit
    :data:`TEXTWIDTH_PT`: first the normal size, then smaller, then long headers on two
    lines, then the widest text columns as paragraphs (``p{...}``, ragged right)."""
    n = len(headers)
    align = ["r" if numeric[j] else "l" for j in range(n)]
    body = [max((_tex_width(c[j]) for c in cells), default=0.0) for j in range(n)]

    def head(j: int, split: bool) -> float:
        latex = _latex_text(headers[j])
        parts = _split_header(latex) if split else None
        return _tex_width(latex) if parts is None else max(_tex_width(p) for p in parts)

    budget = 0.95 * TEXTWIDTH_PT  # the estimate is within about 10%: a margin for it
    for size, scale, sep in _SIZES[:-1]:
        for split in (False, True):
            natural = [scale * max(body[j], head(j, split)) for j in range(n)]
            if sum(natural) + 2 * sep * n <= budget:
                return _Layout(size, sep, split, tuple(align))
    words = [
        max((_tex_width(w) for c in cells for w in _tex_words(c[j])), default=0.0) for j in range(n)
    ]
    layout = None
    for size, scale, sep in _SIZES[-2:]:
        natural = [scale * max(body[j], head(j, True)) for j in range(n)]
        # a paragraph column is never narrower than its longest word, nor than 40 pt
        shortest = [max(1.1 * scale * max(head(j, True), words[j]), 40.0) for j in range(n)]
        wrap = sorted((j for j in range(n) if not numeric[j] and shortest[j] < natural[j]),
                      key=lambda j: natural[j])  # fmt: skip
        room = budget - 2 * sep * n - sum(natural[j] for j in range(n) if j not in wrap)
        specs = list(align)
        for i, j in enumerate(wrap):
            share = room / (len(wrap) - i)
            if natural[j] <= share:
                room -= natural[j]
                continue
            width = max(share, shortest[j])
            room -= width
            specs[j] = f"p{{{width / TEXTWIDTH_PT:.3f}\\linewidth}}"
        layout = _Layout(size, sep, True, tuple(specs))
        if room >= 0:
            break
    assert layout is not None
    return layout


def _latex_text(text: str | Math) -> str:
    return text.latex if isinstance(text, Math) else latex_escape(text)


def _note_cells(note: Note) -> tuple[str, ...]:
    return (note,) if isinstance(note, str) else tuple(note)


def _notes_table(table: Table) -> Table | None:
    """The notes of a table as a table of their own (the text and markdown renderings)."""
    if not table.notes:
        return None
    rows = tuple(_note_cells(n) for n in table.notes)
    return Table(table.notes_columns, rows, title=table.notes_title)


#: Width of text tables when stdout is not a terminal and ``COLUMNS`` is not set.
PIPE_WIDTH = 100


def terminal_width() -> int:
    """Columns for text tables: the terminal's width when stdout is one, else ``COLUMNS``
    when set (a positive integer), else :data:`PIPE_WIDTH`.

    Examples
    --------
    >>> import os
    >>> os.environ["COLUMNS"] = "72"
    >>> terminal_width() if not sys.stdout.isatty() else 72
    72
    >>> del os.environ["COLUMNS"]
    """
    import os
    import shutil

    if sys.stdout.isatty():
        return max(shutil.get_terminal_size((PIPE_WIDTH, 24)).columns, 20)
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) >= 20 else PIPE_WIDTH


#: Cells up to this many characters are never broken across lines in text tables.
_SHORT_CELL = 24


def _to_text(table: Table) -> str:
    cells = [[_plain(c) for c in row] for row in table.rows]
    width = terminal_width()
    # Two layouts: rich's own, and one where short values (numbers, statuses, names) keep
    # their line while long text wraps; the one with fewer lines wins.
    longest = [max((len(r[j]) for r in cells), default=0) for j in range(len(table.columns))]
    keep = [n if n <= _SHORT_CELL else None for n in longest]
    text = min(
        (_rich_text(table, cells, width, keep), _rich_text(table, cells, width, None)),
        key=lambda t: t.count("\n"),
    )
    notes = _notes_table(table)
    return text if notes is None else text + "\n\n" + _to_text(notes)


def _rich_text(
    table: Table, cells: list[list[str]], width: int, least: list[int | None] | None
) -> str:
    """``table`` as a rich text table of ``width`` columns; ``least``: minimal column widths."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    title = None if table.title is None else str(table.title)
    rich_table = RichTable(title=escape(title) if title else None, show_lines=False)
    for j, col in enumerate(table.columns):
        rich_table.add_column(
            escape(str(col)), overflow="fold", min_width=None if least is None else least[j]
        )
    for row in cells:
        rich_table.add_row(*(escape(c) for c in row))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(rich_table, crop=False)
    text = buffer.getvalue().rstrip("\n")
    if least is not None and max(len(line) for line in text.splitlines()) > width:
        return text + "\n" * 10_000  # does not fit: never the one chosen
    return text


def _to_markdown(table: Table) -> str:
    def esc(s: str) -> str:
        return s.replace("|", r"\|").replace("\n", " ")

    lines = []
    if table.title:
        lines += [f"**{esc(str(table.title))}**", ""]
    lines.append("| " + " | ".join(esc(str(c)) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(esc(_plain(c)) for c in row) + " |" for row in table.rows]
    notes = _notes_table(table)
    return "\n".join(lines) + ("" if notes is None else "\n\n" + _to_markdown(notes))


def _to_latex(table: Table) -> str:
    n = len(table.columns)
    cells = [[(_no_bracket(t), num) for t, num in map(_latex_cell, row)] for row in table.rows]
    numeric = [
        any(row[j][1] for row in cells) and all(row[j][1] is not False for row in cells)
        for j in range(n)
    ]
    text = [[latex for latex, _ in row] for row in cells]
    layout = _layout(table.columns, text, numeric)
    paragraph = [spec.startswith("p") for spec in layout.specs]
    lines = [r"\begin{table}[ht]", r"\centering"]
    if table.title:
        lines.append(r"\caption{" + _latex_text(table.title) + "}")
    if table.label:
        lines.append(r"\label{" + latex_escape(table.label) + "}")
    if layout.size:
        lines.append(layout.size)
    if layout.sep != 6.0:
        lines.append(rf"\setlength{{\tabcolsep}}{{{layout.sep:g}pt}}")
    end = r" \tabularnewline" if any(paragraph) else r" \\"
    header = [
        _header_latex(c, layout.split and not paragraph[j], "r" if numeric[j] else "l")
        for j, c in enumerate(table.columns)
    ]
    lines += [
        r"\begin{tabular}{" + "".join(layout.specs) + "}",
        r"\toprule",
        " & ".join(header) + end,
        r"\midrule",
    ]
    for row in text:
        shown = [r"\raggedright " + c if paragraph[j] and c else c for j, c in enumerate(row)]
        lines.append(" & ".join(shown) + end)
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines += [r"\par\smallskip", r"\begingroup\footnotesize\raggedright"]
        if table.notes_title:
            lines.append(r"\emph{" + latex_escape(table.notes_title) + r".}")
        lines += [": ".join(prose_latex(c) for c in _note_cells(n)) + r"\par" for n in table.notes]
        lines.append(r"\endgroup")
    lines.append(r"\end{table}")
    return "\n".join(lines)


def to_json(data: Any) -> str:
    """Serialise CLI data: ``Math`` cells become their text, other objects their ``str``.

    The document follows :mod:`csqbound.report.schema`: a top-level object starts with
    ``"schema_version"``, and every exact field ``NAME`` (a string) has its float twin
    ``NAME_float``.
    """
    from csqbound.report.schema import json_ready

    def default(obj: Any) -> Any:
        if isinstance(obj, Math):
            return obj.text
        if isinstance(obj, set | frozenset | tuple):
            return list(obj)
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return str(obj)

    return json.dumps(json_ready(data), indent=2, default=default, allow_nan=False)


def render(table: Table, fmt: str, columns: Sequence[str] | None = None) -> str:
    """Render a table as ``table`` (aligned text), ``markdown``, ``latex`` or ``json``.

    ``columns`` picks columns by name (``["all"]``: every column); by default LaTeX
    shows the table's compact set and the other formats every column. In LaTeX,
    numeric columns are right-aligned, booleans are words, long numbers are set as
    ``a\\times10^{b}``, notes are paragraphs under the table, and the table is set
    smaller, with two-line headers or with paragraph columns until it fits the
    ``\\textwidth`` of a plain ``article`` (:data:`TEXTWIDTH_PT`).

    Examples
    --------
    >>> t = Table(("name", "leap"), (("50% & more", 1),))
    >>> print(render(t, "latex"))
    \\begin{table}[ht]
    \\centering
    \\begin{tabular}{lr}
    \\toprule
    name & leap \\\\
    \\midrule
    50\\% \\& more & 1 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    fmt = check_format(fmt)
    (table,) = select_columns([table], columns, fmt)
    match fmt:
        case "table":
            return _to_text(table)
        case "markdown":
            return _to_markdown(table)
        case "latex":
            return _to_latex(table)
        case "json":
            records = [
                {
                    str(c): (_plain(v) if isinstance(v, Math) else v)
                    for c, v in zip(table.columns, row, strict=True)
                }
                for row in table.rows
            ]
            return to_json(records)


def latex_document(*bodies: str, title: str | None = None, landscape: bool = False) -> str:
    """A standalone LaTeX document (article, booktabs, graphicx) around table bodies.

    Examples
    --------
    >>> doc = latex_document("x")
    >>> doc.splitlines()[0]
    '\\\\documentclass{article}'
    """
    head = [
        r"\documentclass{article}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage{amsmath}",
        r"\usepackage[margin=1.5cm%s]{geometry}" % (",landscape" if landscape else ""),
        r"\begin{document}",
    ]
    if title:
        head.append(r"\section*{" + latex_escape(title) + "}")
    return "\n".join([*head, *bodies, r"\end{document}", ""])
