"""The layers import one way: envs <- agents <- arena (see "Data flows one way" in
docs/design.md), and no two arena modules import each other in a cycle.

Every import counts, at module level or inside a function, and so does an
``importlib.import_module("palaestra....")`` call with a literal name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the palaestra subpackages it must never import
FORBIDDEN = {
    "envs": ("palaestra.agents", "palaestra.arena"),
    "agents": ("palaestra.arena",),
}
PACKAGE = {"envs": "palaestra.envs", "agents": "palaestra.agents", "arena": "palaestra.arena"}


def module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = [PACKAGE[folder], *rest]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> set[str]:
    """Every module name ``path`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_scan_sees_function_level_and_dynamic_imports(tmp_path: Path) -> None:
    probe = ROOT / "envs" / "_layering_probe.py"
    probe.write_text(
        "import importlib\n"
        "def f():\n"
        "    from palaestra.agents import make_agent\n"
        "    return importlib.import_module('palaestra.arena.runner')\n",
        encoding="utf-8",
    )
    try:
        names = imported_names(probe)
    finally:
        probe.unlink()
    assert {"palaestra.agents.make_agent", "palaestra.arena.runner"} <= names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(folder: str) -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(folder)
        for name in sorted(imported_names(path))
        if name.startswith(FORBIDDEN[folder])
        and name.split(".")[:2] != ["palaestra", folder]  # e.g. "palaestra.agents" in agents
    ]
    assert not bad, "\n".join(bad)


def arena_graph() -> dict[str, set[str]]:
    """arena module -> the arena modules it imports (any import, any depth in the file)."""
    modules = {module_name(p): p for p in sources("arena")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path):
            # ``from palaestra.arena.x import Name`` names the module ``x``; ``... import y``
            # with ``y`` a module names ``y``.
            target = imported if imported in modules else imported.rpartition(".")[0]
            if target in modules and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` as a path ``a -> b -> ... -> a``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_arena_modules() -> None:
    cycle = find_cycle(arena_graph())
    assert cycle is None, " -> ".join(cycle or [])
