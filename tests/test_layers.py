"""The package layout is the architecture: imports point only downward, and none go round.

    core < ingest < embed < index < reader (serving) < answer < eval < reader (training) < surfaces

A module may import its own layer and the layers below it, never one above (function-level
imports included: they are how the CLI stays light, not a way round the rule). The import graph
between modules has no cycle.
"""

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "qa"
LAYERS = ["core", "ingest", "embed", "index", "reader-serving", "answer", "eval", "reader-training", "surfaces"]
READER_SERVING = {"qa.reader.encoding", "qa.reader.onnx_reader", "qa.reader.windows", "qa.reader.base", "qa.reader"}


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[1] == "reader":
        return "reader-serving" if module in READER_SERVING else "reader-training"
    return parts[1]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        rel = p.relative_to(REPO).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if name != "qa":
            out[name] = p
    return out


def _imports(path: Path, known: set[str]) -> set[str]:
    """The qa modules ``path`` imports (``from qa.x import y`` counts qa.x.y when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("qa.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qa"):
            assert node.level == 0, f"{path}: relative import; the layout uses absolute imports"
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def test_every_module_is_in_a_layer():
    assert {_layer(m) for m in _modules()} <= set(LAYERS)


def test_imports_point_only_downward():
    mods = _modules()
    wrong = []
    for name, path in mods.items():
        for dep in _imports(path, set(mods)):
            if LAYERS.index(_layer(dep)) > LAYERS.index(_layer(name)):
                wrong.append(f"{name} ({_layer(name)}) imports {dep} ({_layer(dep)})")
    assert wrong == []


def test_no_import_cycles():
    mods = _modules()
    graph = {name: _imports(path, set(mods)) - {name} for name, path in mods.items()}
    # package __init__ files re-export nothing of their own modules but the root one: leave them
    graph = {n: {d for d in deps if not mods[d].name == "__init__.py"} for n, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(n, trail):
        state[n] = 1
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                cycles.append(" -> ".join(trail[trail.index(d):] + [d]) if d in trail else f"{n} -> {d}")
            elif d not in state:
                visit(d, trail + [d])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert cycles == []
