"""The package's layering, read from its own imports (docs/ARCHITECTURE.md, "Layers").

Every .py under src/samdistill is parsed (module-level and function-level imports; those under
`if TYPE_CHECKING:` do not run and are skipped). An import must go to the importer's own
package or to a lower layer, and no two files may import each other, directly or round a loop.
Imports that still run against the order are listed in KNOWN_VIOLATIONS, each with why it is
there; an entry that no longer occurs fails the test too, so the list can only shrink.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "samdistill"
DOC = ROOT / "docs" / "ARCHITECTURE.md"

# Lowest first. A module may import modules of its own package (top-level folder) and of any
# lower layer; packages on the same line are peers and may not import each other. Every
# subsystem's `config.py` (and `data/segmentation/config.py`) belongs to the `config` layer.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("fileperm",),             # the old name of core/fileperm.py, re-exported
    ("config",),
    ("engine",),
    ("world",),                # renders in core's label table, builds in core's cache; data/ names its datasets
    ("data",),
    ("models",),
    ("metrics",),
    ("priors",),
    ("methods",),
    ("inference",),
    ("sam4ir", "goodsam"),
    ("build", "preflight"),
    ("report", "compare"),
    ("demos",),                # experiments that train and report (samdistill demo, demo pano)
    ("cli",),
]

# (importer, imported): imports against the order that are still there. Remove an entry when
# its import goes; never add one for new code.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> int:
    """Index into LAYERS of a dotted module name under samdistill."""
    parts = module.split(".")[1:]
    if not parts:
        return 0  # the root package: a docstring and a version
    if parts[0] == "config" or parts[-1] == "config":
        return _index("config")
    return _index(parts[0])


def unit_of(module: str) -> str:
    """The top-level folder (or root module) a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@lru_cache(maxsize=None)
def _index(name: str) -> int:
    for i, names in enumerate(LAYERS):
        if name in names:
            return i
    raise AssertionError(f"samdistill.{name} is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=None)
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(sub) for sub in ast.walk(node))
    return skip


def imports_of(module: str) -> dict[str, int]:
    """{imported samdistill module: first line} of one file."""
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _type_checking_nodes(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else base for a in node.names]
        for target in targets:
            if target in modules() and target != module:
                found.setdefault(target, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    return {module: imports_of(module) for module in modules()}


def violations() -> dict[tuple[str, str], int]:
    """(importer, imported) -> line, for every import that goes up or sideways between packages."""
    out = {}
    for importer, targets in import_graph().items():
        for target, line in targets.items():
            if unit_of(importer) == unit_of(target):
                continue
            if layer_of(target) >= layer_of(importer) and not (
                    layer_of(target) == layer_of(importer) == _index("config")):  # sections compose
                out[(importer, target)] = line
    return out


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    graph = {m: sorted(t) for m, t in import_graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _where(pair: tuple[str, str], line: int) -> str:
    path = modules()[pair[0]].relative_to(ROOT)
    return f"{path}:{line}: {pair[0]} imports {pair[1]} (layer {layer_of(pair[0])} -> {layer_of(pair[1])})"


def test_no_import_cycle_between_files():
    assert cycles() == []


def test_every_import_goes_down_the_layers():
    found = violations()
    new = [_where(pair, line) for pair, line in sorted(found.items()) if pair not in KNOWN_VIOLATIONS]
    assert not new, "imports against the layer order (docs/ARCHITECTURE.md, Layers):\n" + "\n".join(new)


def test_known_violations_are_all_still_there():
    gone = sorted(set(KNOWN_VIOLATIONS) - set(violations()))
    assert not gone, f"no longer imported, remove from KNOWN_VIOLATIONS: {gone}"


def test_core_imports_nothing_of_samdistill_and_not_torch():
    for module in (m for m in modules() if layer_of(m) == 0 and m != "samdistill"):
        assert all(t.startswith("samdistill.core") for t in imports_of(module)), module
    code = ("import sys, pkgutil, importlib, samdistill.core as c\n"
            "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('samdistill.core.' + m.name)\n"
            "bad = sorted(m for m in sys.modules if m == 'torch' or "
            "(m.startswith('samdistill.') and not m.startswith('samdistill.core')))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_engine_imports_only_core_config_and_itself():
    allowed = {_index("core"), _index("config"), _index("engine")}
    for module in modules():
        if unit_of(module) == "engine" and layer_of(module) == _index("engine"):
            for target, line in imports_of(module).items():
                if layer_of(target) not in allowed:
                    assert (module, target) in KNOWN_VIOLATIONS, _where((module, target), line)


def test_the_layers_are_those_docs_architecture_draws():
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```text\nlayer .*?\n(.*?)```", text, re.S)
    assert block, "docs/ARCHITECTURE.md has no ```text block starting with a 'layer' header"
    drawn = [tuple(n.strip() for n in m.group(2).split(","))
             for m in re.finditer(r"^\s*(\d+)\s+([a-z0-9_]+(?:, [a-z0-9_]+)*)", block.group(1), re.M)]
    assert drawn == LAYERS
    every = {unit_of(m) for m in modules()} - {"samdistill"}
    assert every <= {name for names in LAYERS for name in names}, every
