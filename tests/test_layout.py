"""The package's layout: no import cycles, and no module importing one above its layer.

Every `import` in every module counts, those inside functions too (a lazy import still ties two modules).
Lower layers know nothing of higher ones: Kaggle files and photos before codecs, codecs before models,
models before inference, inference before training and the photo API, and the command line on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "facekeypoints"

LAYERS = [
    {"errors", "_fs", "_progress", "_device", "_signals", "_args", "_media", "keypoints", "shipped"},  # no torch, no numpy-heavy work
    {"data", "metrics", "viz", "photos", "training.schedule", "uncertainty"},  # Kaggle files, photos, pictures
    {"submission", "codecs"},
    {"models", "checkpoint"},
    {"inference"},
    {"training", "evaluation", "gallery"},
    {"api", "ray_data"},
    {"serve"},  # the HTTP server and its page, over the api
    {"cli", "__main__", ""},  # "": the package's own __init__, the facade that names the public API
]


def _modules() -> dict[str, Path]:
    """Dotted names relative to the package ("" for its __init__, "models" for models/__init__.py)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports (relative or absolute, at any depth of the file)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "facekeypoints":
                stem = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:  # `from . import x` may name a module
                full = f"{stem}.{alias.name}" if stem else alias.name
                targets.add(full if full in modules else stem)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "facekeypoints":
                    targets.add(alias.name.partition(".")[2])
    return {t for t in targets if t in modules and t != name}


def _layer(name: str) -> int:
    """The layer of a module: that of the longest entry naming it or a package holding it."""
    best = None
    for i, layer in enumerate(LAYERS):
        for entry in layer:
            if name == entry or (entry and name.startswith(entry + ".")):
                if best is None or len(entry) > best[1]:
                    best = (i, len(entry))
    if best is None:
        raise AssertionError(f"module {name!r} is in no layer: add it to LAYERS in {__file__}")
    return best[0]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_import_walk_sees_imports(graph):
    """The walk itself: it must see relative, lazy and package-level imports, or the tests below prove nothing."""
    assert "photos.detection" in graph["photos.crops"]
    assert "inference.torch_backend" in graph["inference.loading"]  # imported inside a function
    assert "models._registry" in graph["models"]
    assert "codecs" in graph["models._registry"]


def test_every_module_has_a_layer_and_imports_none_above_it(graph):
    wrong = [f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
             for name, targets in graph.items() for target in targets
             if _layer(target) > _layer(name) and not target.startswith(name + ".")]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles(graph):
    edges = graph
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [node, nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert not cycles, "\n".join(cycles)


CLI_LINES = 350


def test_the_command_line_only_parses_and_calls():
    """cli.py parses and calls the library: its logic grew back twice (527 lines), so its size is held here."""
    lines = len((PACKAGE / "cli.py").read_text().splitlines())
    assert lines <= CLI_LINES, f"cli.py has {lines} lines, over {CLI_LINES}: move the logic into the library"
