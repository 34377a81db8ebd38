"""The layering rules of docs/architecture.md, checked on the source of every graphnets module.

Imports are read with ``ast`` (those inside functions and under ``TYPE_CHECKING`` included), so a
rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import graphnets

PACKAGE = Path(graphnets.__file__).parent

# The layers, bottom first: a module may import its own layer and the ones below, never above.
LAYERS = [
    ("_util",),
    ("core",),
    ("kernels",),
    ("nn",),
    ("io",),
    ("builders",),
    ("data", "train", "methods", "plot"),
    ("experiment",),
    ("cli", "__main__"),
    ("__init__",),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, str, int]]:
    """``(module, imported name or "", line)`` of every import of a graphnets module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("graphnets")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("graphnets"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append(
                    (sub, "", node.lineno) if sub in MODULES else (target, a.name, node.lineno)
                )
    return out


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for name, path in MODULES.items():
        g.add_node(name)
        for target, _, line in _imports(name, path):
            if target in MODULES and target != name:
                g.add_edge(name, target, line=line)
    return g


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_architecture_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    shown = [" -> ".join(c + c[:1]) for c in cycles[:5]]
    assert not cycles, "import cycles among graphnets modules:\n" + "\n".join(shown)


def test_architecture_no_private_names_imported_across_modules():
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} from {target}"
        for module, path in MODULES.items()
        for target, name, line in _imports(module, path)
        if name.startswith("_") and not name.endswith("__") and target != module
    ]
    assert not bad, "private names imported from other modules:\n" + "\n".join(bad)


def test_architecture_imports_point_down_the_layers():
    bad = []
    for module, path in MODULES.items():
        mine = RANK[_layer(module)]
        for target, _, line in _imports(module, path):
            if target in MODULES and RANK[_layer(target)] > mine:
                bad.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line} ({_layer(module)}) "
                    f"imports {target} ({_layer(target)})"
                )
    assert not bad, "imports that point up the layers:\n" + "\n".join(bad)


def test_architecture_core_has_no_torch_modules():
    # core is plain data and pure functions: no nn.Module subclass of ours lives there
    for name, path in MODULES.items():
        if _layer(name) != "core":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                assert not any("Module" in b for b in bases), f"{name}.{node.name}: {bases}"


@pytest.mark.parametrize(
    "old, new", sorted({**graphnets.OLD_PATHS, **graphnets.SHORT_PATHS}.items())
)
def test_architecture_old_and_short_module_paths_import(old, new):
    # graphnets 0.1's flat paths, and the short paths of the newer methods (graphnets.rewire,
    # graphnets.urn, graphnets.search): `import graphnets.rewire` must work, not only the
    # attribute
    import importlib

    assert importlib.import_module(f"graphnets.{old}") is importlib.import_module(
        f"graphnets.{new}"
    )
    assert getattr(graphnets, old) is importlib.import_module(f"graphnets.{new}")


def test_architecture_every_layer_is_known():
    assert {_layer(m) for m in MODULES} <= set(RANK)
