"""Ratchet tests for the package's shape: no import cycle inside mixlab/, no module over 400 lines.

Two import graphs. The strict one holds the imports that run when a module is imported: module-level
statements, including those under a module-level ``if``/``try``/``with`` and in class bodies, but not
those inside functions, nor under ``if TYPE_CHECKING:``. The deferred one adds the imports inside
functions: the data path runs one way (DESIGN.md), so a lazy import must not point back up it
either. Importing ``a.b.c`` runs ``a``, ``a.b`` and ``a.b.c``, so an edge goes to each of them,
except to the importer's own parent packages (already running).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from mixlab import _LAZY as LAZY

PACKAGE = Path(__file__).resolve().parents[1] / "mixlab"
MAX_LINES = 400


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package``."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST, deferred: bool):
    """Import statements under ``node``: those that run on import, plus (``deferred``) those inside
    functions; never those under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not deferred:
            continue
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for statement in child.orelse:
                yield from _import_nodes(ast.Module(body=[statement], type_ignores=[]), deferred)
        else:
            yield from _import_nodes(child, deferred)


def _imported(name: str, path: Path, modules: dict[str, Path], deferred: bool) -> set[str]:
    """The mixlab modules that ``name`` runs when it is imported (or, ``deferred``, when it is used)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), deferred):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        targets.add(source)
        for alias in node.names:
            targets.add(f"{source}.{alias.name}")  # a submodule named in the import
            if source == "mixlab" and alias.name in LAZY:  # `from mixlab import Mixture` loads mixlab.samplers
                targets.add(LAZY[alias.name].partition(":")[0])
    ran: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                ran.add(prefix)
    return ran


def import_graph(package: Path = PACKAGE, deferred: bool = False) -> nx.DiGraph:
    """Module -> the modules of ``package`` it imports (``deferred``: also imports inside functions)."""
    modules = _modules(package)
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        graph.add_edges_from((name, target) for target in sorted(_imported(name, path, modules, deferred)))
    return graph


def _cycles(graph: nx.DiGraph) -> list[str]:
    """One cycle per tangle (strongly connected component of more than one module), as ``a -> b -> a``,
    followed by the tangle's other modules, if any."""
    cycles = []
    for component in sorted(nx.strongly_connected_components(graph), key=min):
        if len(component) > 1:
            cycle = [a for a, _ in nx.find_cycle(graph.subgraph(component), source=min(component))]
            others = sorted(component - set(cycle))
            cycles.append(" -> ".join([*cycle, cycle[0]]) + (f" (tangled with {', '.join(others)})" if others else ""))
    return cycles


def test_the_import_graph_sees_every_kind_of_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg import a\n",
        "a.py": ("from typing import TYPE_CHECKING\nfrom . import b\ntry:\n    import pkg.sub.c\nexcept ImportError:\n"
                 "    pass\nif TYPE_CHECKING:\n    from pkg import d\n\ndef f():\n    from pkg.sub import e\n"),
        "b.py": "", "d.py": "",
        "sub/__init__.py": "", "sub/c.py": "from ..b import x\n", "sub/e.py": "import pkg.a\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    now, later = import_graph(package), import_graph(package, deferred=True)
    assert sorted(now.edges) == [("pkg", "pkg.a"), ("pkg.a", "pkg.b"), ("pkg.a", "pkg.sub"), ("pkg.a", "pkg.sub.c"),
                                 ("pkg.sub.c", "pkg.b"), ("pkg.sub.e", "pkg.a")]
    assert sorted(set(later.edges) - set(now.edges)) == [("pkg.a", "pkg.sub.e")]
    assert _cycles(now) == [] and _cycles(later) == ["pkg.a -> pkg.sub.e -> pkg.a"]
    assert import_graph().has_edge("mixlab", "mixlab.registry")  # mixlab/__init__.py imports it eagerly


def test_no_import_cycle_inside_mixlab():
    cycles = _cycles(import_graph())
    assert not cycles, (
        "import cycles inside mixlab/ (module-level imports):\n  " + "\n  ".join(cycles)
        + "\nfix: move the shared code to a module both can import, or import inside the function that needs it")


def test_no_cycle_through_deferred_imports():
    """The data path runs one way: a function-level import must not point back up it either."""
    cycles = _cycles(import_graph(deferred=True))
    assert not cycles, (
        "module dependency cycles inside mixlab/ (counting imports inside functions):\n  " + "\n  ".join(cycles)
        + "\nfix: move the shared code down to a module both can import, so that one side needs nothing "
        "from the other")


def test_no_module_over_400_lines():
    sizes = {path: len(path.read_text().splitlines()) for path in _modules().values()}
    too_long = [f"{path.relative_to(PACKAGE.parent)}: {n} lines" for path, n in sorted(sizes.items()) if n > MAX_LINES]
    assert not too_long, (f"modules over {MAX_LINES} lines:\n  " + "\n  ".join(too_long)
                          + "\nfix: split the module by job (one concept per module)")
