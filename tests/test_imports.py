"""Import order: every module imports on its own, first, and only the entry points import the
composition root. A cycle through `bootstrap` showed up only when one module happened to be
imported before another; this imports each module first, in a fresh set of voxhub modules."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

SRC = REPO / "src" / "voxhub"
# What may build the container: the process entry points and the composition root itself.
ENTRY_POINTS = {"app.py", "cli.py", "bootstrap.py", "worker/main.py"}

_EACH_FIRST = """
import importlib, sys
from prometheus_client import REGISTRY
failed = []
for name in sys.argv[1:]:
    # Metrics live in the process's registry; a re-imported module registers its own again.
    for collector in list(REGISTRY._collector_to_names):
        if any(n.startswith("voxhub_") for n in REGISTRY._collector_to_names[collector]):
            REGISTRY.unregister(collector)
    for loaded in [m for m in sys.modules if m == "voxhub" or m.startswith("voxhub.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def modules() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        if {"evaluation", "migrations"} & set(path.parts) or path.name == "__main__.py":
            continue  # programs (alembic runs the migrations) with tools imported on purpose
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_first() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _EACH_FIRST, *modules()],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_only_entry_points_import_the_composition_root() -> None:
    importers = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "voxhub.bootstrap":
                importers.append(rel)
    assert sorted(set(importers) - ENTRY_POINTS) == []
