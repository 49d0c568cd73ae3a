"""Multi-node DDP through Slurm: two slurmd (n1, n2) on this machine, one ``nsml run --nodes 2`` session.

The job's batch step ``srun``s one torchrun per node with the first node of the allocation as the rendezvous
(``nsml.backends.job``); the two processes train one model of the real baseline over gloo on the CPU, rank 0
reports and saves through the session's event file, and the session ends ``done`` with its checkpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import ROOT

import slurm_support
from models import load_checkpoint
from nsml.store import Store
from nsml_support import nsml_cli

pytestmark = pytest.mark.slow  # the real baseline, two processes on two simulated nodes: about 40 s on two cores

TINY = "--hidden_size 16 --layer_size 1 --batch_size 8 --workers 1 --max_len 20 --max_epochs 1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = slurm_support.running_cluster(tmp_path_factory.mktemp("slurm2"), {"n1": 1, "n2": 1})
    yield running
    running.stop()


def test_two_nodes_train_one_model_with_torchrun_on_each(env, cluster, tmp_path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    account = "twonodes"
    slurm_env = dict(env, **cluster.env, NSML_SHARED=str(shared), NSML_BACKEND="slurm", NSML_SLURM_ACCOUNT=account,
                     NSML_SLURM_PARTITION="train")
    try:
        ran = nsml_cli(slurm_env, "run", "-d", "sample_dataset", "--nodes", "2", "-c", "1", "-a", TINY, cwd=ROOT,
                       timeout=400, check=False)
    finally:
        cluster.command("scancel", "-A", account, check=False)
    log = ran.stdout + ran.stderr
    name = "tester/sample_dataset/1"
    assert ran.returncode == 0, log
    assert f"session {name} done" in log
    # 61 training utterances (3 validate) make 8 batches of 8: 4 per rank, one rank on each node
    assert "4 batches of 8 per process x 2 process(es)" in log

    record = json.loads(nsml_cli(slurm_env, "ps", "--json").stdout)[0]
    assert record["job"]["nodes"] == 2 and record["exit_code"] == 0
    shown = cluster.command("scontrol", "show", "job", "-o", record["job_id"]).stdout
    job = dict(re.findall(r"(\w[\w/:]*)=(\S*)", shown))
    assert job["NumNodes"] == "2" and job["NodeList"] == "n[1-2]" and job["JobState"] == "COMPLETED"

    for node in ("n1", "n2"):  # the one step ran a task (a torchrun) on each node
        assert f"launch task StepId={record['job_id']}.0 " in cluster.log(f"slurmd-{node}")

    checkpoints = shared / "sessions" / name / "checkpoints"
    checkpoint = load_checkpoint(checkpoints / "model")
    assert checkpoint.train_state["epoch"] == 1
    assert not any(key.startswith("module.") for key in checkpoint.model_state)  # no DDP wrapper leaks
    checkpoint.build()  # the weights load into a single-process model
    # only rank 0 reported, through the event file: one eval__loss for the one epoch
    metrics = Store(Path(env["NSML_HOME"]) / "nsml.sqlite").metrics(name)
    assert sum(metric.key == "eval__loss" for metric in metrics) == 1
    assert {m["checkpoint"] for m in json.loads(nsml_cli(slurm_env, "model", "ls", name, "--json").stdout)} >= \
        {"model", "best"}
