"""The package's import layers and the purity of the model, checked on the source with ``ast``.

A module may import labelsim modules of its own layer or below.  ``model/`` is the only code
that imports simpy; the model, the engine and the results do no printing, no file I/O and use
no global random state (every random number comes from the run's seeded streams).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "labelsim"

#: Top-level module (or sub-package) -> layer.  ``__init__`` may import anything.
LAYERS: dict[str, int] = {
    "units": 0, "rng": 0, "distributions": 0, "theory": 0, "calendar": 0, "_version": 0, "vocabulary": 0,
    "scenario": 1, "yamlschema": 1,
    "model": 2,
    "results": 3, "logs": 3,
    "engine": 4, "replication": 4, "calibration": 4,
    "forecasting": 5, "planning": 5, "backtest": 5,
    "plots": 6, "report": 6,
    "io": 7, "output": 7, "starter": 7, "cli": 7, "__main__": 7,
}
TOP = max(LAYERS.values())
#: Modules that must not print, open files or touch global random state.
PURE = ("model", "engine", "replication", "results")
#: numpy.random names that do not touch numpy's global state.
NUMPY_RANDOM_OK = frozenset({
    "Generator", "default_rng", "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937",
})
FILE_METHODS = frozenset({"open", "write_text", "write_bytes", "read_text", "read_bytes", "to_csv", "to_parquet"})


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _unit(path: Path) -> str:
    """The layered unit of a file: the top-level module, or the sub-package it is in."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _ids(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _package_parts(path: Path) -> list[str]:
    """``labelsim.model.core`` -> ['labelsim', 'model'] (the package the module is in)."""
    return ["labelsim", *path.relative_to(PACKAGE).parts[:-1]]


def _imported_units(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, unit)`` for every labelsim module the file imports (anywhere in it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _package_parts(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "labelsim":
                    yield node.lineno, parts[1] if len(parts) > 1 else "__init__"
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                if len(base) < 1:
                    raise AssertionError(f"{path}:{node.lineno}: relative import beyond the package")
                parts = [*base, *(node.module.split(".") if node.module else [])]
            else:
                parts = (node.module or "").split(".")
            if parts[0] != "labelsim":
                continue
            if len(parts) > 1:
                yield node.lineno, parts[1]
                continue
            # ``from labelsim import x`` / ``from .. import x``: a submodule, else the package itself
            for alias in node.names:
                is_module = (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                yield node.lineno, alias.name if is_module else "__init__"


def _third_party(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.lineno, node.module.split(".")[0]


# --------------------------------------------------------------------------- layers


def test_every_module_has_a_layer():
    units = {_unit(path) for path in _files()} - {"__init__"}
    missing = sorted(units - set(LAYERS))
    assert not missing, f"give these modules a layer in tests/test_architecture.py: {missing}"


@pytest.mark.parametrize("path", [p for p in _files() if _unit(p) != "__init__"], ids=_ids)
def test_imports_respect_the_layers(path: Path):
    unit = _unit(path)
    if unit not in LAYERS:
        pytest.skip(f"{unit} has no layer (see test_every_module_has_a_layer)")
    layer = LAYERS[unit]
    wrong = []
    for line, imported in _imported_units(path):
        imported_layer = TOP if imported == "__init__" else LAYERS.get(imported)
        if imported_layer is None:
            wrong.append(f"line {line}: imports {imported!r}, which has no layer")
        elif imported_layer > layer:
            wrong.append(f"line {line}: {unit} (layer {layer}) imports {imported} (layer {imported_layer})")
    assert not wrong, "\n".join(wrong)


def test_the_layer_checker_sees_imports():
    """Guard against a checker that finds nothing: known imports are seen."""
    seen = {unit for _, unit in _imported_units(PACKAGE / "engine.py")}
    assert {"model", "results", "scenario"} <= seen
    seen = {unit for _, unit in _imported_units(PACKAGE / "model" / "core.py")}
    assert {"scenario", "model"} <= seen  # ``..scenario`` and ``.entities``


@pytest.mark.parametrize("path", _files(), ids=_ids)
def test_only_the_model_imports_simpy(path: Path):
    if _unit(path) == "model":
        return
    found = [line for line, name in _third_party(path) if name == "simpy"]
    assert not found, f"{_ids(path)} imports simpy at line(s) {found}; only labelsim/model/ may"


def test_the_model_does_import_simpy():
    modules = {name for path in (PACKAGE / "model").glob("*.py") for _, name in _third_party(path)}
    assert "simpy" in modules


# --------------------------------------------------------------------------- purity


def _impurities(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("print", "open", "input"):
                yield f"line {node.lineno}: {func.id}("
            elif isinstance(func, ast.Attribute) and func.attr in FILE_METHODS:
                yield f"line {node.lineno}: .{func.attr}("
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "random":
                    yield f"line {node.lineno}: import random (global random state)"
        elif isinstance(node, ast.ImportFrom) and node.module in ("random", "numpy.random") and not node.level:
            bad = [a.name for a in node.names if node.module == "random" or a.name not in NUMPY_RANDOM_OK]
            if bad:
                yield f"line {node.lineno}: from {node.module} import {', '.join(bad)} (global random state)"
        elif isinstance(node, ast.Attribute):
            value = node.value
            # np.random.seed / np.random.rand / numpy.random.normal …
            if (
                isinstance(value, ast.Attribute)
                and value.attr == "random"
                and isinstance(value.value, ast.Name)
                and value.value.id in ("np", "numpy")
                and node.attr not in NUMPY_RANDOM_OK
            ):
                yield f"line {node.lineno}: {value.value.id}.random.{node.attr} (global random state)"
            # random.random() / random.seed() on the stdlib module
            if isinstance(value, ast.Name) and value.id == "random":
                yield f"line {node.lineno}: random.{node.attr} (global random state)"


@pytest.mark.parametrize("path", [p for p in _files() if _unit(p) in PURE], ids=_ids)
def test_model_engine_and_results_are_pure(path: Path):
    found = list(_impurities(path))
    assert not found, f"{_ids(path)}:\n" + "\n".join(found)


def test_the_purity_checker_finds_impurities(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import random\nimport numpy as np\n"
        "def f(path, rng):\n"
        "    print('x')\n    open(path)\n    path.write_text('x')\n"
        "    np.random.seed(1)\n    random.random()\n"
        "    rng.random(3)\n    np.random.default_rng(1)\n",
        encoding="utf-8",
    )
    found = list(_impurities(sample))
    assert len(found) == 6, found  # rng.random(3) and np.random.default_rng are fine


# --------------------------------------------------------------------------- the model's components

#: Module of ``labelsim/model/`` -> rank: a component imports (at run time) only lower ranks, and
#: only the core wires them all together.  Imports under ``if TYPE_CHECKING:`` are for annotations.
MODEL_RANKS: dict[str, int] = {
    "clock": 0, "records": 0, "account": 0,
    "entities": 1,
    "status": 2, "behaviour": 2, "recorder": 2, "quality": 2, "arrivals": 2, "qc_rules": 2,
    "qc": 3,
    "performers": 3,
    "dispatch": 4,
    "assignments": 5, "uploads": 5,
    "requester": 6,
    "opening": 7,
    "core": 8,
}
#: Size limits that keep components small (lines).
MAX_MODULE_LINES, MAX_CLASS_LINES = 350, 250


def _runtime_model_imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every ``labelsim.model`` sibling imported outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in skip:
            if node.module:
                yield node.lineno, node.module.split(".")[0]
            else:
                yield from ((node.lineno, alias.name) for alias in node.names)


def test_every_model_module_has_a_rank():
    modules = {p.stem for p in (PACKAGE / "model").glob("*.py")} - {"__init__"}
    assert modules == set(MODEL_RANKS), f"give these model modules a rank: {sorted(modules ^ set(MODEL_RANKS))}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "model").glob("*.py")), ids=_ids)
def test_model_components_import_only_lower_ranks(path: Path):
    if path.stem == "__init__":
        return
    rank = MODEL_RANKS[path.stem]
    wrong = [f"line {line}: {path.stem} (rank {rank}) imports {name} (rank {MODEL_RANKS.get(name)})"
             for line, name in _runtime_model_imports(path) if MODEL_RANKS.get(name, rank) >= rank]
    assert not wrong, "\n".join(wrong)


def test_the_rank_checker_sees_imports():
    model = PACKAGE / "model"
    assert {"clock", "dispatch", "entities"} <= {name for _, name in _runtime_model_imports(model / "uploads.py")}
    assert "core" not in {name for _, name in _runtime_model_imports(model / "quality.py")}  # TYPE_CHECKING only


def test_the_vocabulary_imports_nothing_from_labelsim():
    assert list(_imported_units(PACKAGE / "vocabulary.py")) == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "model").glob("*.py")), ids=_ids)
def test_model_modules_and_classes_are_small(path: Path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{_ids(path)} has {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"{_ids(path)}: class {node.name} has {size} lines"
