"""The package's imports point down its layers and never in a circle (read from the source with ``ast``).

Every import counts, including those inside functions: a lazy import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "scratchlstm"

# lowest first; a module may import its own layer and the layers below it
LAYERS = {
    "foundation": ("errors", "backend", "settings", "io", "progress", "lazy_exports"),
    "math": ("nn", "clipping", "optim", "losses", "gradcheck", "interop", "traces", "exercises", "exercises_math", ""),  # "": the package itself
    "training": ("train", "checkpoint"),
    "applications": ("data", "forecast", "plots", "vanishing"),
    "command line": ("cli", "__main__"),
}
ORDER = list(LAYERS)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "scratchlstm")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "scratchlstm":
                continue
            for alias in node.names:  # "from . import gru" imports the module scratchlstm.nn.gru
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
    return {m for m in found if m in modules and m != name}


def _layer(module: str) -> str:
    inside = module.split(".", 1)[1] if "." in module else ""
    top = inside.split(".")[0]
    for layer, tops in LAYERS.items():
        if top in tops:
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in this test")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer(graph):
    for module in graph:
        _layer(module)


def test_imports_point_down_the_layers(graph):
    upward = [f"{m} ({_layer(m)}) imports {d} ({_layer(d)})" for m, deps in graph.items() for d in deps
              if ORDER.index(_layer(d)) > ORDER.index(_layer(m))]
    assert not upward, "\n".join(upward)


def test_no_circles(graph):
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(d):] + [d]))
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_math_knows_nothing_of_files_or_plots(graph):
    allowed = ("scratchlstm.nn", "scratchlstm.backend", "scratchlstm.errors", "scratchlstm.settings")
    for m, deps in graph.items():
        if m.startswith("scratchlstm.nn"):
            outside = [d for d in deps if not d.startswith(allowed)]
            assert not outside, f"{m} imports {outside}"


def test_kernels_never_import_the_reference_they_are_tested_against(graph):
    for m, deps in graph.items():
        if m.startswith("scratchlstm.nn.kernels"):
            assert all(d.startswith(("scratchlstm.nn.kernels", "scratchlstm.nn.shapes", "scratchlstm.nn.functional",
                                     "scratchlstm.backend", "scratchlstm.errors")) for d in deps), (m, deps)


def test_the_reader_finds_what_a_circle_would_be():
    """The test's own parser: relative imports of modules and of names resolve as Python resolves them."""
    modules = _modules()
    deps = _imports("scratchlstm.nn.cells", PACKAGE / "nn" / "cells.py", modules)
    assert {"scratchlstm.nn.gru", "scratchlstm.nn.lstm", "scratchlstm.nn.shapes", "scratchlstm.errors"} <= deps
