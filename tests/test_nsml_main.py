"""The real baseline under the local NSML: a session trained by two torchrun processes, then submitted."""

from __future__ import annotations

import pytest
from support import ROOT
from nsml_support import nsml_cli

from models import load_checkpoint
from nsml.store import Store

pytestmark = pytest.mark.slow  # each trains the real baseline: about 40 s on two cores

TINY = "--hidden_size 32 --layer_size 1 --batch_size 8 --workers 1 --use_attention --max_len 20 --max_epochs 2"


def test_two_processes_train_one_model_that_loads_in_one_process(env, tmp_path):
    run = nsml_cli(env, "run", "-d", "sample_dataset", "--nproc", "2", "-a", TINY, cwd=ROOT, timeout=300)
    log = run.stdout + run.stderr
    # 61 training utterances (3 validate) make 8 batches of 8: 4 per rank, each rank its own shard
    assert "4 batches of 8 per process x 2 process(es)" in log
    name = "tester/sample_dataset/1"
    assert "session tester/sample_dataset/1 done" in log

    checkpoints = tmp_path / "home" / "sessions" / name / "checkpoints"
    checkpoint = load_checkpoint(checkpoints / "best")
    assert checkpoint.train_state["epoch"] in (1, 2)
    assert load_checkpoint(checkpoints / "model").train_state["epoch"] == 2
    checkpoint.build()  # the weights load into a single-process model
    assert not any(key.startswith("module.") for key in checkpoint.model_state)  # no DDP wrapper leaks

    # only rank 0 reported: one eval__loss per epoch, not two
    store = Store(tmp_path / "home" / "nsml.sqlite")
    metrics = store.metrics(name)
    assert sum(metric.key == "eval__loss" for metric in metrics) == 2
    # and the entry's resolved flags were recorded under torchrun: given ones and defaults alike
    params = store.session(name).params
    assert (params["--hidden_size"], params["--use_attention"], params["--lr"], params["--mode"]) == \
        (32, True, 1e-4, "train")

    # the session's own snapshot, arguments and checkpoint score the test split in a single process
    submit = nsml_cli(env, "submit", name, "best", cwd=ROOT, timeout=300)
    assert "CRR" in submit.stdout and "16 utterances" in submit.stdout
    board = nsml_cli(env, "dataset", "board", "sample_dataset").stdout
    assert name in board and "best" in board


def test_fork_resumes_the_baseline_at_the_checkpoint_epoch(env, tmp_path):
    nsml_cli(env, "run", "-d", "sample_dataset", "-a", TINY.replace("--max_epochs 2", "--max_epochs 1"), cwd=ROOT,
             timeout=300)
    # only the changed flag is given: the architecture flags come from the parent
    forked = nsml_cli(env, "fork", "tester/sample_dataset/1", "model", "-a", "--max_epochs 3", cwd=ROOT, timeout=300)
    log = forked.stdout + forked.stderr
    assert "(epoch 1)" in log  # nsml.paused loaded the parent's checkpoint through the bound load
    assert "epoch 1/3:" not in log and "epoch 2/3:" in log and "epoch 3/3:" in log  # counted from 1, as the board
    checkpoints = tmp_path / "home" / "sessions" / "tester/sample_dataset/2" / "checkpoints"
    state = load_checkpoint(checkpoints / "model").train_state
    assert state["epoch"] == 3 and state["step"] == 3 * 8
