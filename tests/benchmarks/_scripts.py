"""Benchmark scripts are not a package: tests load them by path, under a module name of their own."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(relative: str) -> ModuleType:
    """`benchmarks/<relative>` as the module `benchmark_<stem>` (registered first: dataclasses look their
    module up by name)."""
    path = BENCHMARKS / relative
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
