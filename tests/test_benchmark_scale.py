"""``benchmarks.scale`` end to end on the sample dataset, with ``--steady_memory``."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_scale_benchmark_reports_time_memory_and_what_malloc_holds():
    command = [sys.executable, "-m", "benchmarks.scale", "--data", str(ROOT / "sample_dataset"), "--utterances", "6",
               "--factors", "1", "2", "--hidden_size", "32", "--repeats", "1", "--steady_memory"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "steady memory: kernel caches of 8" in done.stdout
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in done.stdout.splitlines() if line.startswith("| "))}
    headers = rows["data"]
    for factor in ("1x", "2x"):
        row = rows[factor]
        assert float(row[headers.index("epoch s")]) > 0 and float(row[headers.index("peak RSS MiB")]) > 0
        in_use = float(row[headers.index("malloc in use after MiB")])
        assert not math.isnan(in_use) and 0 < in_use < float(row[headers.index("peak RSS MiB")])
    assert int(rows["2x"][headers.index("utterances")]) == 2 * int(rows["1x"][headers.index("utterances")])
