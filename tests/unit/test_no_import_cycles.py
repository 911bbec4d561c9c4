"""No module of cc imports, directly or through others, a module that imports it back (docs/design.md).

Every import counts: at module level, inside a function, and under ``if TYPE_CHECKING:`` — a circle
that only the type checker sees is still a circle in the design, so hiding an import there does not
break it. The graph is read from the source with ``ast`` (nothing is imported), and its strongly
connected components of more than one module are the circles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import cc

PKG = Path(cc.__file__).resolve().parent

#: module -> {imported module -> [(line, name taken)]}
Graph = dict[str, dict[str, list[tuple[int, str]]]]


def _module_names(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Every module under ``root`` (the directory of ``package``): dotted name -> (file, is a package)."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_pkg)
    return found


def _owner(name: str, modules: Mapping[str, object]) -> str | None:
    """The module that ``name`` (a module, or a name inside one) lives in, if it is one of ``modules``."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def module_graph(root: Path, package: str) -> Graph:
    """Who imports whom among the modules of ``package`` (its directory is ``root``), with line and name."""
    modules = _module_names(root, package)
    graph: Graph = {name: {} for name in modules}
    for name, (path, is_pkg) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[tuple[str, str]] = []  # (dotted target, name taken)
            if isinstance(node, ast.Import):
                line = node.lineno
                targets = [(alias.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                line = node.lineno
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append((sub if sub in modules else source, alias.name))
            for dotted, taken in targets:
                target = _owner(dotted, modules)
                if target is not None and target != name:
                    graph[name].setdefault(target, []).append((line, taken))
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return sorted(found)


def _describe(graph: Graph, comp: list[str]) -> str:
    lines = [" <-> ".join(comp)]
    for src in comp:
        for dst in comp:
            if dst in graph[src]:
                where = ", ".join(f"{taken} (line {line})" for line, taken in sorted(graph[src][dst]))
                lines.append(f"  {src} -> {dst}: {where}")
    return "\n".join(lines)


def test_cc_has_no_import_cycles() -> None:
    graph = module_graph(PKG, "cc")
    assert len(graph) > 50  # the walk found the package
    found = cycles(graph)
    assert not found, "modules import each other in a circle:\n" + "\n".join(_describe(graph, c) for c in found)


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_finder_sees_type_checking_local_and_relative_imports(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    _write(
        root,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
            "b.py": "def f():\n    from . import a\n",
            "sub/__init__.py": "from .c import C\n",
            "sub/c.py": "from ..d import D\n",
            "d.py": "import pkg.sub\n",
            "e.py": "from pkg import a\nimport os\n",
            "f.py": "from pkg.e import x\n",
        },
    )
    graph = module_graph(root, "pkg")
    assert graph["pkg.a"] == {"pkg.b": [(3, "B")]}
    assert graph["pkg.b"] == {"pkg.a": [(2, "a")]}
    assert graph["pkg.sub"] == {"pkg.sub.c": [(1, "C")]}
    assert graph["pkg.sub.c"] == {"pkg.d": [(1, "D")]}
    assert graph["pkg.e"] == {"pkg.a": [(1, "a")]}
    assert cycles(graph) == [["pkg.a", "pkg.b"], ["pkg.d", "pkg.sub", "pkg.sub.c"]]


def test_finder_reports_no_cycle_in_a_layered_tree(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    _write(
        root,
        {
            "__init__.py": "from pkg.top import T\n",
            "low.py": "X = 1\n",
            "mid.py": "from pkg.low import X\n",
            "top.py": "from pkg import mid, low\ndef g():\n    from pkg.mid import X\n",
        },
    )
    graph = module_graph(root, "pkg")
    assert graph["pkg.top"] == {"pkg.mid": [(1, "mid"), (3, "X")], "pkg.low": [(1, "low")]}
    assert cycles(graph) == []
