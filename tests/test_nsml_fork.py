"""``nsml fork``: the parent's arguments with only the given flags replaced, and a fork always has a ``best``."""

from __future__ import annotations

from pathlib import Path

import pytest
from nsml_support import nsml_cli

from nsml.entry_args import merge, split
from nsml.errors import UsageError
from nsml.store import Store

# the argparse actions of an entry as nsml records them: --use_attention is a flag, --size takes two values
SPEC = [{"options": ["-b", "--batch_size"], "dest": "batch_size", "nargs": 1},
        {"options": ["--use_attention"], "dest": "use_attention", "nargs": 0},
        {"options": ["--size"], "dest": "size", "nargs": 2},
        {"options": ["--lr"], "dest": "lr", "nargs": 1},
        {"options": [], "dest": "data", "nargs": 1}]


@pytest.mark.parametrize(("parent", "given", "spec", "merged"), [
    # the documented example: only --max_epochs changes, --use_attention stays
    ("--use_attention --max_epochs 2 --lr 1e-3", "--max_epochs 10", None,
     "--use_attention --lr 1e-3 --max_epochs 10"),
    ("--batch_size 8 --lr 1e-3", "-b 16", SPEC, "--lr 1e-3 -b 16"),  # one option, two spellings
    ("--batch_size 8 --lr 1e-3", "--batch 4", SPEC, "--lr 1e-3 --batch 4"),  # argparse's abbreviation
    ("--lr=1e-3 --use_attention", "--lr 5e-4", None, "--use_attention --lr 5e-4"),
    ("--lr 1e-3", "--lr -1e-3", None, "--lr -1e-3"),  # a negative number is a value, not a flag
    ("--size 3 4 --use_attention data.txt", "--size 5 6", SPEC, "--use_attention data.txt --size 5 6"),
    ("--use_attention --lr 1e-3", "--use_attention", None, "--lr 1e-3 --use_attention"),
    ("data.txt --lr 1e-3", "other.txt", SPEC, "--lr 1e-3 other.txt"),
    ("--lr 1e-3", "", None, "--lr 1e-3"),
])
def test_merge_replaces_only_the_flags_given(parent: str, given: str, spec, merged: str) -> None:
    assert merge(split(parent), split(given), spec) == split(merged)


def test_an_argument_string_that_does_not_split_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="check its quotes"):
        split('--memo "unfinished')


def test_fork_keeps_the_parents_flags_and_always_has_a_best(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3 --use_attention", cwd=project)
    # the toy's load refuses a checkpoint made with another --use_attention, as the baseline's does
    fork = nsml_cli(env, "fork", "tester/toy/1", "2", "-a", "--epochs 4", cwd=project)
    assert "loaded epoch 2" in fork.stdout and "epoch 4 done" in fork.stdout
    assert "arguments: --use_attention --epochs 4" in fork.stderr
    store = Store(Path(env["NSML_HOME"]) / "nsml.sqlite")
    assert store.session("tester/toy/2").args == "--use_attention --epochs 4"
    assert store.session("tester/toy/2").params["--use_attention"] is True

    # a fork that trains no epoch (checkpoint 3 already has --epochs 3) saves nothing, yet --submit best works:
    # it starts with the parent's checkpoint as its best
    still = nsml_cli(env, "fork", "tester/toy/1", "3", "--submit", "best", cwd=project)
    assert "epoch 4 done" not in still.stdout and "CRR 78.57" in still.stdout
    listed = nsml_cli(env, "model", "ls", "tester/toy/3").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["best"]
    assert "epoch=3 eval__cer=0.1111" in listed[1]  # the summary of the parent's checkpoint 3
    parent_best = Path(env["NSML_HOME"]) / "sessions" / "tester/toy/1" / "checkpoints" / "3" / "model.json"
    fork_best = Path(env["NSML_HOME"]) / "sessions" / "tester/toy/3" / "checkpoints" / "best" / "model.json"
    assert fork_best.read_bytes() == parent_best.read_bytes()

    # --replace-args drops the parent's arguments: without --use_attention the checkpoint no longer loads
    # (found by loading it before any session exists)
    replaced = nsml_cli(env, "fork", "tester/toy/1", "3", "-a", "--epochs 4", "--replace-args", cwd=project,
                        check=False)
    assert replaced.returncode == 2 and replaced.stderr.count("\n") == 1, replaced.stderr
    assert "cannot load tester/toy/1 checkpoint '3': RuntimeError: checkpoint has use_attention=True" in \
        replaced.stderr
    assert Store(Path(env["NSML_HOME"]) / "nsml.sqlite").session("tester/toy/4") is None


def test_fork_refuses_an_argument_string_before_creating_a_session(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    refused = nsml_cli(env, "fork", "tester/toy/1", "best", "-a", '--broken "load', cwd=project, check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith("nsml: error: cannot split the -a string") and refused.stderr.count("\n") == 1
    assert [line.split()[0] for line in nsml_cli(env, "ps").stdout.splitlines()[1:]] == ["tester/toy/1"]


def test_fork_with_a_changed_architecture_flag_is_refused_before_a_session_exists(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    refused = nsml_cli(env, "fork", "tester/toy/1", "best", "-a", "--use_attention", cwd=project, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith('nsml: error: main.py with -a "--epochs 1 --use_attention" cannot load '
                                     "tester/toy/1 checkpoint 'best': RuntimeError: checkpoint has "
                                     "use_attention=False")
    assert [line.split()[0] for line in nsml_cli(env, "ps").stdout.splitlines()[1:]] == ["tester/toy/1"]
    # a flag the checkpoint does not fix forks as before
    assert "epoch 3 done" in nsml_cli(env, "fork", "tester/toy/1", "best", "-a", "--epochs 3", cwd=project).stdout


@pytest.mark.slow
def test_a_main_py_fork_with_another_hidden_size_is_one_line_before_a_session(env) -> None:
    """The baseline's own case: ``nsml fork S -a "--hidden_size 64"`` from a session trained with 32."""
    root = Path(__file__).resolve().parent.parent
    nsml_cli(env, "dataset", "add", "sample", str(root / "sample_dataset"))
    tiny = "--hidden_size 32 --layer_size 1 --batch_size 32 --workers 1 --max_epochs 1 --precision fp32"
    nsml_cli(env, "run", "-d", "sample", "-a", tiny, cwd=root, timeout=300)
    refused = nsml_cli(env, "fork", "tester/sample/1", "best", "-a", "--hidden_size 64", cwd=root, check=False,
                       timeout=300)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "cannot load tester/sample/1 checkpoint 'best': CheckpointError:" in refused.stderr
    assert "hidden_size: 32 != 64" in refused.stderr
    assert len(nsml_cli(env, "ps").stdout.splitlines()) == 2  # the header and the parent only
