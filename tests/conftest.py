"""Shared fixtures. Tests that need ../shared skip, with the reason, only where it is absent."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture
def shared() -> Path:
    """The project's ../shared folder of real data."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"{SHARED} is absent: the real-data tests need ../shared beside the project")
    return SHARED


@pytest.fixture
def seed_article(shared: Path) -> Path:
    return shared / "seed" / "000_da945747c3871653.txt"


def load_bench(name: str) -> ModuleType:
    """A benchmark script of bench/ as a module, for the quality gates that reuse its code."""
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"digest_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
