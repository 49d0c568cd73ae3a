"""``benchmarks.train_step`` end to end on the sample dataset: every path trains, including the DDP job."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_train_step_benchmark_times_every_path_including_a_two_process_ddp_job():
    command = [sys.executable, "-m", "benchmarks.train_step", "--data", str(ROOT / "sample_dataset"),
               "--hidden_size", "32", "--utterances", "8", "--repeats", "1", "--batch_frames", "1500",
               "--threads", "2", "--processes", "2"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in done.stdout.splitlines() if line.startswith("| "))}
    assert "bf16/fp32" in done.stdout  # the machine header
    ddp = [name for name in rows if name.endswith("2 processes (DDP)")]
    assert len(ddp) == 2, rows.keys()
    headers = rows["path"]
    batches, loss = headers.index("batches"), headers.index("first loss")
    for name in ddp:
        per_rank, _, world = rows[name][batches].partition(" x ")
        assert world == "2" and int(per_rank) >= 1
        assert math.isfinite(float(rows[name][loss])) and float(rows[name][headers.index("wall s")]) > 0
    assert float(rows["2019 baseline: fp32, 32 in file order"][headers.index("wall s")]) > 0
