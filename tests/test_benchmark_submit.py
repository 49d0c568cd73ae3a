"""``benchmarks.submit`` end to end on the sample dataset: the seed-shaped model against the 2019 path, and the
shipped Korean model, which that path cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_submit_benchmark(*extra: str) -> tuple[str, dict[str, list[str]]]:
    command = [sys.executable, "-m", "benchmarks.submit", "--data", str(ROOT / "sample_dataset"), "--files", "6",
               "--batch_size", "4", "--repeats", "1", *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")]
                                          for line in done.stdout.splitlines() if line.startswith("| "))}
    return done.stdout, rows


@pytest.mark.slow
def test_submit_benchmark_times_the_2019_path_and_batched_decoding_in_processes():
    out, rows = run_submit_benchmark("--max_len", "5", "--beam_size", "2")
    assert "bf16/fp32" in out  # the machine header
    headers = rows["path"]
    assert headers[headers.index("RTF") + 2] == "vs 2019"
    assert rows["2019 baseline: per-file greedy, fp32"][headers.index("vs 2019")] == "1.00x"
    # float32 batched decoding (chunked encoder, joined decoder, two processes) gives the per-file text
    assert rows["project: batched greedy (4), fp32"][-1] == "6/6"
    assert all(float(cells[headers.index("RTF")]) > 0 for name, cells in rows.items() if name != "path")


@pytest.mark.slow
def test_submit_benchmark_runs_a_checkpoint_the_2019_path_cannot():
    out, rows = run_submit_benchmark("--checkpoint", str(ROOT / "pretrained" / "korean"))
    assert "no 2019 row" in out and "2019 baseline: per-file greedy, fp32" not in rows
    headers = rows["path"]
    assert "vs the first row" in headers
    assert rows["project: per-file greedy, fp32"][headers.index("vs the first row")] == "1.00x"
    assert rows["project: batched greedy (4), fp32"][-1] == "6/6"
