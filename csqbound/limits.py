"""Every size and magnitude limit of csqbound, in one place.

Each limit is checked *before* the work it protects starts, and the error that
enforces it is a :class:`~csqbound.errors.CsqboundError` naming the limit (by its
name in this module) and, where going past it is legitimate, how to do so. The
values are chosen generous for research use and small enough that no input
within them can exhaust memory (a 1 GiB address space) or run for minutes; each
comment says why. ``docs/cli.md`` ("Limits and errors") lists them for users.

The limits are plain module constants so that tests and documentation can read
them; changing one at run time is not supported (modules copy some of them at
import).

Examples
--------
>>> from csqbound import limits
>>> limits.MAX_VARIABLES, limits.MAX_TABLE_VARIABLES
(500, 20)
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "MAX_COEFFICIENT_BITS",
    "MAX_COORDINATE",
    "MAX_CSQ_WORK",
    "MAX_DECIMAL_DIGITS",
    "MAX_DECIMAL_EXPONENT",
    "MAX_DEGREE",
    "MAX_DIMENSION",
    "MAX_EXACT_ISO_VARIABLES",
    "MAX_EXPANDED_TERMS",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_LENGTH",
    "MAX_GRID_RUNS",
    "MAX_EXP_ARGUMENT",
    "MAX_FUNCTION_ARGUMENTS",
    "MAX_HERMITE_INDEX",
    "MAX_ISO_WORK",
    "MAX_MAGNITUDE",
    "MAX_NESTING",
    "MAX_NORM2",
    "MAX_NUMBER_BITS",
    "MAX_NUMERIC_ISO_VARIABLES",
    "MAX_QUADRATURE_DEGREE",
    "MAX_RUN_BYTES",
    "MAX_RUN_MEMORY_FRACTION",
    "MAX_SAMPLES",
    "MAX_SQ_POINTWISE_VARIABLES",
    "MAX_SQ_VARIABLES",
    "MAX_TABLE_VARIABLES",
    "MAX_TAU",
    "MAX_TEXT_NUMBER_LENGTH",
    "MAX_TREE_SIZE",
    "MAX_VARIABLES",
    "MIN_NORM2",
    "MIN_TAU",
    "QUADRATURE_BUDGET",
]

# -- the text of an expression ---------------------------------------------------------------

#: Longest expression, in characters. A target of research interest is a few hundred
#: characters; 10^4 leaves room for generated sums over hundreds of variables while
#: keeping the parse itself (Python's ``ast``) in milliseconds.
MAX_EXPRESSION_LENGTH = 10_000

#: Deepest nesting of the syntax tree (sums and products of many terms are flat and
#: do not count). sympy's own algorithms recurse a few frames per level, so 200
#: levels stay far below Python's recursion limit of 1000.
MAX_NESTING = 200

#: Most digits in the mantissa of a decimal literal (``0.1234...``); more is noise.
MAX_DECIMAL_DIGITS = 1_000

#: Largest ``|e|`` in a decimal literal ``1.5e{e}``: the range of a float64 (1e-308 ..
#: 1e308). Every number csqbound reports is eventually a float, and ``1e-4000`` would
#: make exact arithmetic on 13,000-bit numbers (and their 4,300-digit strings) necessary.
MAX_DECIMAL_EXPONENT = 308

#: Largest number of characters of a number given as text outside an expression
#: (``--tau``); ``1/3`` or ``1e-12`` need a handful.
MAX_TEXT_NUMBER_LENGTH = 100

# -- variables -------------------------------------------------------------------------------

#: Largest coordinate index ``i`` of a variable ``x_i``; the target then has
#: ``P >= i`` variables and everything sized by ``P`` (the variables, ``d >= P``) is
#: cheap up to here. ``x99999999999`` would ask for 10^11 symbols.
MAX_COORDINATE = 10_000

#: Most distinct variables in one target. The leap, the CSQ bound and the exact
#: expansions are polynomial in ``P`` (some quadratic); at 500 variables a sum of all
#: of them is expanded and analysed in a few seconds.
MAX_VARIABLES = 500

#: Most variables of a target expanded from its truth table on ``{-1,1}^P``
#: (non-polynomial boolean targets: sign, max, tanh, ...): ``2^20`` values take
#: about 10 MB and a second; each further variable doubles both. Write the target as
#: a polynomial to go past it (polynomials are reduced exactly, without a table).
MAX_TABLE_VARIABLES = 20

# -- size of the expanded polynomial ---------------------------------------------------------

#: Largest literal exponent ``k`` in ``a ** k``.
MAX_EXPONENT = 64

#: Largest index ``k`` of a Hermite polynomial ``He_k`` / ``He(k, .)``.
MAX_HERMITE_INDEX = 12

#: Largest total polynomial degree after composition (powers of powers, Hermite
#: polynomials of Hermite polynomials), bounded on the expression tree before
#: anything is expanded. A parity of MAX_VARIABLES variables has degree 500; the exact
#: Hermite coefficients of ``x^n`` have about ``n log2 n`` bits (4,000 at n = 512).
MAX_DEGREE = 512

#: Largest number of monomials of the expanded polynomial, *estimated before
#: expanding* by a multinomial count on the tree (``(m terms) ** k`` has at most
#: ``C(m + k - 1, k)`` monomials, never more than ``C(n + D, D)`` in ``n`` variables of
#: degree ``D``); on the gaussian domain also the number of Hermite products
#: (``x^e`` has ``e // 2 + 1`` Hermite terms), counted before they are made.
#: ``(x1 + ... + x30)**4`` (40,920 monomials) expands in seconds;
#: ``(x1 + ... + x40)**8`` would have 3 * 10^8.
MAX_EXPANDED_TERMS = 50_000

#: Largest size (nodes, counted as a tree) of the expression as built.
MAX_TREE_SIZE = 200_000

#: Most arguments of ``max`` / ``min`` (after nesting is flattened). sympy compares
#: arguments pairwise when it builds ``Max``: 20 arguments take well under a second,
#: 50 take seconds, 200 a minute. Beyond 20 distinct variables the truth table would
#: be refused anyway (:data:`MAX_TABLE_VARIABLES`).
MAX_FUNCTION_ARGUMENTS = 20

# -- magnitudes ------------------------------------------------------------------------------

#: Largest bit length of an exact number anywhere in the expression as built (about
#: 1,233 decimal digits), far below Python's 4,300-digit limit on int-to-string
#: conversions.
MAX_NUMBER_BITS = 4_096

#: Largest bit length of an exact expansion coefficient (numerator or denominator,
#: about 2,466 digits): larger ones could not even be printed.
MAX_COEFFICIENT_BITS = 8_192

#: Largest bound on ``|g|`` for any sub-expression ``g`` over ``|x_i| <= 1``, bounded
#: on the tree without evaluating anything. Beyond the float range nothing numeric
#: works, and sympy would spend unbounded time on towers like ``exp(exp(exp(100)))``.
MAX_MAGNITUDE = 1e300

#: Largest bound on ``|a|`` in ``exp(a)`` over ``|x_i| <= 1``: ``exp(690)`` is about
#: 1e300, the largest value a float holds with room to spare.
MAX_EXP_ARGUMENT = 690.0

#: Largest ``E[f^2]`` of a target. Every downstream computation squares or multiplies
#: values (variances, ``tau^2 / ||r||^2``, losses) in floats, which overflow at 1e308;
#: ``1e155*x1`` has ``E[f^2] = 1e310``. Leaps, supports and CSQ exponents do not
#: depend on the scale: divide the target by a constant to go past it.
MAX_NORM2 = 1e200

#: Smallest non-zero ``E[f^2]`` of a target (multiply it by a constant to go past it);
#: below it relative tolerances underflow in floats.
MIN_NORM2 = 1e-200

# -- algorithms ------------------------------------------------------------------------------

#: Most variables of the exact SQ oracle when the values on the cube are exact
#: rationals or come from a polynomial: it transforms ``2^P``-entry tables per value.
MAX_SQ_VARIABLES = 16

#: Most variables of the exact SQ oracle of a non-polynomial target with irrational
#: values (``tanh(x1 + x2)``): every point of ``{-1,1}^P`` is evaluated exactly, about
#: ``2^P`` sympy evaluations (4096 take well under a second).
MAX_SQ_POINTWISE_VARIABLES = 12

#: Largest ``max_degree`` of the Gauss-Hermite quadrature of a non-polynomial
#: gaussian target.
MAX_QUADRATURE_DEGREE = 40

#: Largest number of tensor quadrature points (``points_per_dim ** P``) chosen by
#: default: 2 * 10^6 evaluations of the target, 16 MB of floats.
QUADRATURE_BUDGET = 2_000_000

#: Most variables of the exact rotation-free leap (``iso_leap``) of a polynomial: its
#: exact linear algebra grows fast with ``P``.
MAX_EXACT_ISO_VARIABLES = 8

#: Most variables of ``iso_leap`` of a non-polynomial target (numeric surrogate from
#: quadrature).
MAX_NUMERIC_ISO_VARIABLES = 3

#: Largest work (exact coefficient products, estimated beforehand) of one step of the
#: exact ``iso_leap``: composing the target with that step's linear change of
#: variables. 10^6 products take about ten seconds; ``(x1 + x2)**64`` needs 2 * 10^7
#: (minutes), ``He4(x1 + x2 - x3)*He3(x2 + x4)`` 1.4 * 10^6.
MAX_ISO_WORK = 1_000_000

#: Largest work (monomials visited, about 4 microseconds each) of the CSQ bound's
#: exploration of tied greedy runs; past it the bound follows the lexicographic run
#: and says so in its notes. ``(x1 + ... + x20)**4`` took 125 s before this budget.
MAX_CSQ_WORK = 500_000

#: Largest ambient dimension ``d`` (10^1000). The CSQ bound is exact: binomials
#: ``C(d, k)`` for ``k <= MAX_VARIABLES`` stay below a million digits, well under a
#: second of big-integer arithmetic; research sweeps use ``d`` up to about 10^6 and
#: asymptotic checks 10^400.
MAX_DIMENSION = 10**1000

#: Smallest query tolerance ``tau`` (exactly ``10^-300``): ``tau^2`` must still be a
#: float-sized, printable exact number.
MIN_TAU = Fraction(1, 10**300)

#: Largest query tolerance ``tau`` (``10^300``); any ``tau`` above ``||f||`` already
#: makes every query answerable by 0.
MAX_TAU = Fraction(10**300)


# -- training runs and sweeps ----------------------------------------------------------------

#: Most memory one training run may hold at once, as estimated by
#: :func:`csqbound.sgd.footprint.run_bytes` (weights and their temporaries, a chunk of
#: inputs, the test set), whatever the machine. A run of research size (``d = 4096``,
#: ``N = 1024``, 8 replicas) needs about 0.5 GiB; 4 GiB keeps every run within a
#: laptop's memory. On a smaller machine the limit is lower:
#: :data:`MAX_RUN_MEMORY_FRACTION` of its memory (see
#: :func:`csqbound.sgd.footprint.run_bytes_limit`, which also names the environment
#: variable that replaces the limit on a machine known to have room).
MAX_RUN_BYTES = 4 * 2**30

#: Largest fraction of the machine's memory (physical RAM, or the cgroup limit of the
#: container when that is lower) one run may hold: the estimate is within a factor of
#: about two of the measured peak, and the rest of the memory stays for the system, the
#: other workers of a sweep and the estimate's error.
MAX_RUN_MEMORY_FRACTION = 0.5

#: Most samples per replica of one run: 10^10 is days of online SGD on a CPU core.
MAX_SAMPLES = 10**10

#: Most runs in one sweep grid (targets x settings x d x seeds): the default report has
#: 144; 10^5 runs of a few seconds each are days on a workstation.
MAX_GRID_RUNS = 100_000
