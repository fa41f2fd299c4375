"""Project rules that hold for every change: no Qt below the Qt floor, imports only run down the
layers and never in a circle, ruff clean, mypy strict on the Qt-free packages."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(f"{package}.{p.stem}" if p.stem != "__init__" else package
                  for p in folder.glob("*.py"))


@pytest.mark.parametrize("package", ["gui.core", "gui.simulator", "gui.cli", "gui.words",
                                     "gui.startup", "gui.options"])
def test_package_imports_no_qt(package: str) -> None:
    modules = _modules(package) if ROOT.joinpath(*package.split(".")).is_dir() else [package]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync', 'PyQt5', 'PyQt6'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def _imports() -> dict[str, set[str]]:
    """Every module under gui/ and the gui modules it imports when it runs, at any depth of its
    code (a function's own imports too)."""
    found: dict[str, set[str]] = {}
    for path in ROOT.joinpath("gui").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if parts[-1] == "__init__" else name.rpartition(".")[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Imports for type checking only never run, so they make no circle.
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and ast.unparse(block.test).endswith("TYPE_CHECKING")
                       for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parents, *([base] if base else [])])
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)
        found[name] = targets
    return {name: {t for t in targets if t in found and t != name}
            for name, targets in found.items()}


#: who may import whom: each layer may use only the ones listed for it (and itself)
LAYERS = {
    "gui.core": {"gui.core"},
    "gui.simulator": {"gui.core", "gui.simulator"},
    "gui.words": {"gui.core"},
    "gui.options": {"gui.core"},
    "gui.startup": set(),
    "gui.cli": {"gui.core", "gui.simulator", "gui.cli", "gui.words"},
}


def _layer(module: str) -> str | None:
    return next((layer for layer in LAYERS
                 if module == layer or module.startswith(layer + ".")), None)


def test_imports_run_down_the_layers_only() -> None:
    wrong = []
    for module, targets in _imports().items():
        layer = _layer(module)
        for target in targets:
            if target == "gui" or (layer is not None and _layer(target) == layer):
                continue
            if layer is not None and _layer(target) not in LAYERS[layer]:
                wrong.append(f"{module} imports {target}")
            # The front ends sit on top: only the entry point starts them.
            if (target.startswith(("gui.cli", "gui.app", "gui.controller"))
                    and module not in ("gui.__main__", "gui.app") and _layer(module) != "gui.cli"):
                wrong.append(f"{module} imports the front end {target}")
    assert wrong == []


def test_no_module_imports_itself_back_through_others() -> None:
    graph = _imports()
    # Packages' __init__ re-exports are not edges back up.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    circles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_no_python_file_is_too_long_to_find_things_in() -> None:
    lengths = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
               for p in ROOT.joinpath("gui").rglob("*.py")}
    assert {p: n for p, n in lengths.items() if n > 900} == {}
    assert lengths["gui/app.py"] < 400


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_is_mypy_strict_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental",
                             "--cache-dir", "/dev/null"], cwd=ROOT, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
