"""House rules on the shape of the code: function length and the import graph.

Both are read from the source with :mod:`ast` (nothing is imported), so the checks see
every module of ``csqbound/``, those that need an optional extra included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "csqbound"
#: The longest a function may be, in lines from its ``def`` to its last line, the signature
#: and the docstring included (decorators not): the house rule "no function over 80 lines".
MAX_FUNCTION_LINES = 80
#: Functions allowed over the limit ("csqbound/path.py:name"): none. A new entry needs a
#: reason in a comment beside it; the guard below fails once an entry is no longer long.
ALLOWED_LONG: frozenset[str] = frozenset()


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """``csqbound.sgd.train`` for ``csqbound/sgd/train.py`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(root: Path = PACKAGE) -> dict[str, ast.Module]:
    """Module name -> its parsed source, for every module under ``root``."""
    return {
        module_name(p, root): ast.parse(p.read_text(encoding="utf-8")) for p in root.rglob("*.py")
    }


def function_lengths(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """``(name, lines)`` of every function and method, nested ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            yield node.name, node.end_lineno - node.lineno + 1


def long_functions(root: Path = PACKAGE, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """``"csqbound/path.py:name" -> lines`` of every function longer than ``limit``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, lines in function_lengths(tree):
            if lines > limit:
                out[f"{path.relative_to(root.parent).as_posix()}:{name}"] = lines
    return out


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node``, inside functions too (``if TYPE_CHECKING:`` blocks left out).

    An import inside a function runs on call, not on import, but it still ties the two
    modules together: the house rule is no cycle at all, deferred imports included.
    """
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _imports(child)


def _targets(node: ast.AST, modules: set[str]) -> Iterator[str]:
    """The csqbound modules an import statement loads (``from csqbound import limits``: limits)."""
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module.split(".")[0] == "csqbound":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in modules else node.module
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "csqbound":
                yield alias.name


def import_graph(trees: dict[str, ast.Module]) -> nx.DiGraph:
    """Module -> the csqbound modules it imports, at the top or inside a function."""
    graph = nx.DiGraph()
    modules = set(trees)
    for name, tree in trees.items():
        graph.add_node(name)
        for node in _imports(tree):
            for target in _targets(node, modules):
                graph.add_edge(name, target)
    return graph


def test_no_function_over_80_lines() -> None:
    found = long_functions()
    over = {k: v for k, v in found.items() if k not in ALLOWED_LONG}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines: {over}"


def test_the_allow_list_names_real_long_functions() -> None:
    # an entry that is no longer long (or no longer exists) must leave the list
    found = long_functions()
    assert not ALLOWED_LONG - set(found), sorted(ALLOWED_LONG - set(found))


def test_the_length_check_can_fail(tmp_path: Path) -> None:
    pkg = tmp_path / "csqbound"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(80))
    (pkg / "m.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(pkg) == {"csqbound/m.py:long": 81}
    assert long_functions(pkg, limit=81) == {}


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph(sources())
    assert graph.number_of_nodes() > 40
    assert graph.has_edge("csqbound.expansion", "csqbound.walsh")  # the kernels, at the top
    assert graph.has_edge("csqbound.isoleap", "csqbound.limits")  # from csqbound import limits
    assert graph.has_edge("csqbound.prediction", "csqbound.dlq")  # inside loss_leap only
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize(
    ("code", "cyclic"),
    [
        ({"csqbound.a": "import csqbound.b", "csqbound.b": "from csqbound import a"}, True),
        ({"csqbound.a": "import csqbound.b", "csqbound.b": "x = 1"}, False),
        (
            {
                "csqbound.a": "import csqbound.b",
                "csqbound.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    import csqbound.a",
            },
            False,
        ),
        (
            {"csqbound.a": "import csqbound.b", "csqbound.b": "def f():\n    import csqbound.a"},
            True,
        ),
        (
            {
                "csqbound.a": "import csqbound.b",
                "csqbound.b": "class C:\n    def f(self):\n        if x:\n"
                "            from csqbound.a import y",
            },
            True,
        ),
        (
            {
                "csqbound.a": "import csqbound.b",
                "csqbound.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    import csqbound.a\nelse:\n    import csqbound.a",
            },
            True,
        ),
    ],
)
def test_the_cycle_check_can_fail(code: dict[str, str], cyclic: bool) -> None:
    graph = import_graph({name: ast.parse(text) for name, text in code.items()})
    assert bool(list(nx.simple_cycles(graph))) is cyclic
