"""The benchmark script keeps working (its numbers are not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import ROOT


def test_quick_benchmark_runs_and_writes_markdown(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                             "--markdown", str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    for case in ("| mlp |", "| synthetic 10k values |"):
        assert case in table
    assert "geometric mean" in table and "peaks at" in table
