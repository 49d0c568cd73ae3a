"""``benchmarks.front_end``: a training pass of the encoder and of its convolutions for several front ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_front_end_benchmark_times_each_front_end_against_the_first():
    command = [sys.executable, "-m", "benchmarks.front_end", "--front_ends", "41x11,21x11", "5x5,3x3", "5x5,3x3/2,3",
               "--utterances", "2", "--frames", "80", "--hidden_size", "16", "--layer_size", "1", "--repeats", "2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in done.stdout.splitlines() if line.startswith("| "))}
    headers = rows["front end"]
    assert set(rows) == {"front end", "41x11,21x11", "5x5,3x3", "5x5,3x3/2,3"}
    assert rows["41x11,21x11"][headers.index("pass wall ratio")] == "1.00x"
    for name in ("41x11,21x11", "5x5,3x3", "5x5,3x3/2,3"):
        row = rows[name]
        assert 0 < float(row[headers.index("convolutions s")]) < float(row[headers.index("pass s")])
    bad = subprocess.run([sys.executable, "-m", "benchmarks.front_end", "--kernels", "4x4,3x3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert bad.returncode == 2 and "odd TIMExFREQUENCY" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "benchmarks.front_end", "--front_ends", "5x5,3x3/2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert bad.returncode == 2 and "two positive time strides" in bad.stderr
