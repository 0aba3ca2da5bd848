"""The layers of DESIGN.md §2, checked on the source: no package imports one above it, and no
module-level import cycle exists (imports only for type checking do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "threadstore"

# The parts of the package, by module prefix (the longest prefix wins); a module under no prefix
# is "core" (errors, ids, time, checks, JSON: the foundation every part may use).
PARTS: dict[str, str] = {
    "threadstore._rollout": "rollout",
    "threadstore._contract": "contract",
    "threadstore._backends.shared": "shared",
    "threadstore._backends.memory": "memory",
    "threadstore._backends.local": "local",
    "threadstore._backends.postgres": "postgres",
    "threadstore._backends.remote": "remote",
    "threadstore._backends.registry": "registry",
    "threadstore._backends": "backends",
    "threadstore._wire": "wire",
    "threadstore._runtime": "runtime",
    "threadstore._server": "server",
    "threadstore._appserver": "appserver",
    "threadstore._transfer": "transfer",
    "threadstore._view": "view",
    "threadstore._ui": "ui",
    "threadstore._cli": "cli",
    "threadstore.testing": "testing",
    "threadstore.integrations": "integrations",
    "threadstore.items": "api",
    "threadstore.models": "api",
    "threadstore.__main__": "api",
}

_BASE = {"core", "rollout", "contract"}
_BACKEND = _BASE | {"shared"}

# What each part may import (besides itself). No backend imports another backend; the registry
# finds backends by name (entry points), never by import.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "rollout": {"core"},
    "contract": {"core", "rollout"},
    "shared": _BASE,
    "memory": _BACKEND,
    "local": _BACKEND,
    "postgres": _BACKEND,
    "wire": _BASE,
    "remote": _BACKEND | {"wire"},
    "backends": set(),
    "registry": {"core", "contract"},
    "runtime": _BASE,
    "transfer": _BASE,
    "view": _BASE,
    "server": _BASE | {"shared", "wire", "registry"},
    "appserver": _BASE | {"runtime", "view"},
    "ui": _BASE | {"registry", "view"},
    "integrations": _BASE | {"registry"},
    "testing": _BASE | {"registry", "server", "transfer"},
    "cli": _BASE | {"wire", "registry", "runtime", "server", "appserver", "view", "ui", "transfer", "api"},
    "api": {"core", "rollout", "runtime", "cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _part(module: str) -> str:
    best = max((p for p in PARTS if module == p or module.startswith(p + ".")), key=len, default=None)
    return PARTS[best] if best is not None else "core"


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
