"""The ``nsml`` command as a whole: one-line errors for unknown names, --help everywhere, entry arguments."""

from __future__ import annotations

import argparse

import pytest
from nsml_support import nsml_cli

from nsml.cli import build_parser


def test_unknown_names_are_one_line_errors_listing_what_exists(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    cases = {
        ("logs", "tester/toy/9"): "nsml: error: no session 'tester/toy/9'; sessions: tester/toy/1",
        ("rm", "nobody/*"): "nsml: error: no session 'nobody/*'; sessions: tester/toy/1",
        ("model", "ls", "x/y/1"): "nsml: error: no session 'x/y/1'; sessions: tester/toy/1",
        ("submit", "tester/toy/1", "best2"): "nsml: error: no checkpoint 'best2' in session tester/toy/1; "
                                             "checkpoints: 1, best",
        ("fork", "tester/toy/1", "7"): "nsml: error: no checkpoint '7' in session tester/toy/1; "
                                       "checkpoints: 1, best",
        ("model", "pull", "tester/toy/1", "9", "out"): "nsml: error: no checkpoint '9' in session tester/toy/1; "
                                                       "checkpoints: 1, best",
        ("run", "-d", "nope"): "nsml: error: no dataset 'nope'; datasets: sample_dataset, toy",
        ("dataset", "board", "nope"): "nsml: error: no dataset 'nope'; datasets: sample_dataset, toy",
        ("dataset", "pull", "nope", "out"): "nsml: error: no dataset 'nope'; datasets: sample_dataset, toy",
    }
    for args, message in cases.items():
        result = nsml_cli(env, *args, cwd=project, check=False)
        assert (result.returncode, result.stderr.strip(), result.stdout) == (2, message, ""), args
    no_entry = nsml_cli(env, "run", "-e", "train.py", cwd=project, check=False)
    assert no_entry.returncode == 2 and no_entry.stderr.startswith("nsml: error: no entry 'train.py'")


def _verbs(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every leaf verb of the parser (``run``, ``model ls``, ...), read from the parser itself."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_verbs(sub, (*prefix, name)))
    return found or [list(prefix)]


def test_every_verb_explains_itself(capsys: pytest.CaptureFixture) -> None:
    verbs = _verbs(build_parser())
    assert ["compare"] in verbs and ["model", "pull"] in verbs and ["dataset", "rm"] in verbs
    assert ["submit ls"] in verbs and ["submit show"] in verbs and len(verbs) == 24
    assert ["watchdog"] in verbs and ["cluster", "caps"] in verbs
    for verb in verbs:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*verb, "--help"])
        description = capsys.readouterr().out.split("\n\n")[1]
        assert exited.value.code == 0 and len(description) > 30, verb


def test_entry_arguments_that_look_like_options(env, project) -> None:
    (project / "echo.py").write_text("import sys\nprint('ARGV', sys.argv[1:])\n")
    result = nsml_cli(env, "run", "-d", "toy", "-e", "echo.py", "-a", "--use_attention", cwd=project)
    assert "ARGV ['--use_attention']" in result.stdout


def test_an_argument_string_that_does_not_split_makes_no_session(env, project) -> None:
    refused = nsml_cli(env, "run", "-d", "toy", "-a", '--broken "load', cwd=project, check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == ("nsml: error: cannot split the -a string '--broken \"load': No closing quotation "
                              "(check its quotes)\n")
    assert nsml_cli(env, "ps").stdout.splitlines()[1:] == []  # no phantom session
    assert "session tester/toy/1" in nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project).stderr


def test_logs_follow_ends_with_the_status_and_fails_with_the_session(env, project) -> None:
    (project / "crash.py").write_text("import sys, time\nprint('working', flush=True)\ntime.sleep(1)\nsys.exit(3)\n")
    name = nsml_cli(env, "run", "--detach", "-d", "toy", "-e", "crash.py", cwd=project).stdout.strip()
    followed = nsml_cli(env, "logs", "-f", name, check=False)
    assert followed.returncode == 3 and "working" in followed.stdout
    assert followed.stderr.strip().splitlines()[-1] == f"nsml: session {name} failed(3)"

    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    done = nsml_cli(env, "logs", "-f", "tester/toy/2")
    assert done.stderr.strip().splitlines()[-1] == "nsml: session tester/toy/2 done"


def test_gpus_on_a_machine_without_cuda_say_it_trains_on_the_cpu(env, project) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = nsml_cli(env, "run", "-d", "toy", "-g", "1", "-a", "--epochs 1", cwd=project)
    assert "-g 1: this machine has no usable CUDA device" in run.stderr and "trains on the CPU" in run.stderr
    quiet = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    assert "CUDA" not in quiet.stderr
