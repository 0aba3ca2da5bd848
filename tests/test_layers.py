"""The layers of ARCHITECTURE.md, checked on the source: no part of the package imports one above
it (nor one beside it: backends never import each other), and no import cycle exists at all,
counting every import statement: at module level, inside functions and for type checking only."""

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
    "threadstore._mirror": "mirror",
    "threadstore._view": "view",
    "threadstore._ui": "ui",
    "threadstore._cli": "cli",
    "threadstore.testing": "testing",
    "threadstore.integrations": "integrations",
    "threadstore.items": "api",
    "threadstore.models": "api",
    "threadstore.transfer": "api",
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
    "mirror": _BASE | {"transfer"},
    "view": _BASE,
    "server": _BASE | {"shared", "wire", "registry"},
    "appserver": _BASE | {"runtime", "view"},
    "ui": _BASE | {"registry", "view"},
    "integrations": _BASE | {"registry"},
    "testing": _BASE | {"shared", "registry", "server", "transfer", "api"},
    "cli": _BASE | {"wire", "registry", "runtime", "server", "appserver", "view", "ui", "transfer", "mirror", "api"},
    "api": set(PARTS.values()) | {"core"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _part(module: str) -> str:
    if module == "threadstore" or module.startswith("threadstore.__init__"):
        return "api"  # the package root: the public surface, which re-exports every part
    best = max((p for p in PARTS if module == p or module.startswith(p + ".")), key=len, default=None)
    return PARTS[best] if best is not None else "core"


def _imports(path: Path) -> set[str]:
    """Every threadstore module (or name in one) that ``path`` imports, wherever the import is."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    every: set[str] = set()

    def resolve(node: ast.ImportFrom) -> list[str]:
        if node.level == 0:
            base = node.module or ""
        else:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]

    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = resolve(node)
        # (The package root itself is not a dependency of ``from threadstore import _json``.)
        every.update(name for name in names if name.startswith("threadstore."))
    return every


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py") if "_proto" not in p.parts}


def test_no_layer_imports_one_above_it() -> None:
    wrong = []
    for module, path in _modules().items():
        mine = _part(module)
        every = _imports(path)
        for imported in every:
            theirs = _part(imported)
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{module} ({mine}) imports {imported} ({theirs})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        graph[module] = {m for m in _imports(path) if m in modules and m != module}
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
