"""The layers of DESIGN.md §2, checked on the source: no package imports one above it, and no
module-level import cycle exists (imports only for type checking do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "threadstore"

# What each part of the package may import (besides itself). "core" is the top-level modules.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "wire": {"core", "store"},
    "remote": {"core", "store", "wire"},
    "runtime": {"core", "store"},
    "server": {"core", "store", "wire", "urls"},
    "urls": {"core", "store", "remote"},
    "transfer": {"core", "store"},
    "testing": {"core", "store", "remote", "server", "transfer"},
    "appserver": {"core", "store", "runtime"},
    "view": {"core", "store"},
    "ui": {"core", "store", "runtime", "urls", "view"},
    "cli": {"core", "store", "wire", "remote", "runtime", "server", "urls", "appserver", "view", "ui", "transfer"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in ALLOWED else "core"


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(every threadstore module imported, those imported at module level outside TYPE_CHECKING)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    every: set[str] = set()
    top: set[str] = set()

    def resolve(node: ast.ImportFrom) -> list[str]:
        if node.level == 0:
            base = node.module or ""
        else:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]

    def visit(nodes: list[ast.stmt], at_top: bool) -> None:
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = resolve(node)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            for name in names:
                if name == "threadstore" or name.startswith("threadstore."):
                    every.add(name)
                    if at_top:
                        top.add(name)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child], at_top and isinstance(node, ast.If | ast.Try))

    visit(tree.body, True)
    return every, top


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py") if "_proto" not in p.parts}


def test_no_layer_imports_one_above_it() -> None:
    wrong = []
    for module, path in _modules().items():
        mine = _part(module)
        every, _ = _imports(path)
        for imported in every:
            theirs = _part(imported)
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{module} ({mine}) imports {imported} ({theirs})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        _, top = _imports(path)
        graph[module] = {m for m in top if m in modules and m != module}
    # A package's __init__ importing its own submodules is not a cycle of design.
    for module in graph:
        graph[module] = {m for m in graph[module] if not m.startswith(module + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not cycles, "\n".join(cycles)
