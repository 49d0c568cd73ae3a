"""What the log of a first ``main.py`` run tells its reader: epochs counted from 1 as "epoch k/N" with the whole
run's ETA, and a run that ends without recognising anything says so, why, and where to read on."""

from __future__ import annotations

import re

import pytest
from test_main import TINY_MODEL, run_main

from support import ROOT


@pytest.mark.slow
def test_an_untrained_run_ends_with_one_notice_and_numbers_its_epochs_from_one(tmp_path):
    done = run_main([*TINY_MODEL, "--max_epochs", "2", "--precision", "fp32"], tmp_path / "ckpt")
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert re.search(r"main: epoch 1/2: train loss [0-9.]+ cer [0-9.]+ \([0-9.]+ s\) \| eval", log)
    assert re.search(r"main: epoch 2/2: train loss", log) and "epoch 0" not in log
    assert re.search(r"train: epoch 1/2: batch \d+/\d+, loss [0-9.]+, \d+ s elapsed, ETA \d+ s \(run \d+ s\)", log)
    notices = [line for line in log.splitlines() if "notice: the final evaluation CER" in line]
    assert len(notices) == 1 and notices[0] == log.rstrip().splitlines()[-1]
    assert "too few epochs (--max_epochs) or too little data" in notices[0]
    readme = (ROOT / "README.md").read_text()
    assert '"Quick start"' in notices[0] and "## Quick start" in readme and "## What `./run.sh` does" in readme
    assert '-a "--init pretrained/korean"' in notices[0]
