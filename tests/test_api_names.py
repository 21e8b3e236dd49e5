"""The public functions stay functions whatever was imported first (no module of the same name shadows them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

NAMES = ["forecast", "compare", "calibrate", "plan", "sweep", "simulate", "replicate", "read_log", "load_scenario"]


@pytest.mark.parametrize("first", ["labelsim.cli", "labelsim.planning", "labelsim.report", "labelsim.calibration"])
def test_public_functions_are_callable_after_importing_any_module(first: str) -> None:
    code = (
        f"import importlib, labelsim; importlib.import_module({first!r}); "
        f"bad = [n for n in {NAMES!r} "
        "if not callable(getattr(labelsim, n)) or isinstance(getattr(labelsim, n), type(labelsim))]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
