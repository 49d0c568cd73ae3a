"""Sessions record the arguments their entry really used (argparse's resolved values, defaults included)."""

from __future__ import annotations

import json
from pathlib import Path

from nsml_support import nsml_cli

from nsml.store import Store

TOY_DEFAULTS = {"--mode": "train", "--pause": 0, "--epochs": 3, "--epoch_seconds": 0.0, "--save_seconds": 0.0,
                "--load_seconds": 0.0, "--broken": "", "--use_attention": False, "--ballast_mb": 0}

SUBCOMMANDS = '''
import argparse

argparse.ArgumentParser().parse_args([])  # a parse of another list than the command line: not recorded
parser = argparse.ArgumentParser()
parser.add_argument("-v", "--verbose", action="count", default=0)
commands = parser.add_subparsers(dest="command")
train = commands.add_parser("train")
train.add_argument("--steps", type=int, default=5)
train.add_argument("--rate", type=float, default=0.5)
args, rest = parser.parse_known_args()
parser.parse_args(["train", "--steps", "99"])  # a later parse: not recorded either
print("PARSED", args.verbose, args.command, args.steps, rest)
'''


def store(env) -> Store:
    return Store(Path(env["NSML_HOME"]) / "nsml.sqlite")


def test_a_session_records_every_flag_with_its_default(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2 --use_attention", cwd=project)
    expected = dict(TOY_DEFAULTS, **{"--epochs": 2, "--use_attention": True})
    recorded = store(env).session("tester/toy/1")
    assert recorded.params == expected
    assert [item["dest"] for item in recorded.param_spec][:3] == ["mode", "pause", "epochs"]
    assert {item["dest"]: item["nargs"] for item in recorded.param_spec}["use_attention"] == 0

    # a submit re-runs the entry with --mode test --pause 1: the session keeps what it trained with
    nsml_cli(env, "submit", "tester/toy/1", "best")
    assert store(env).session("tester/toy/1").params == expected
    listed = json.loads(nsml_cli(env, "ps", "--json").stdout)
    assert listed[0]["name"] == "tester/toy/1" and listed[0]["params"] == expected
    assert listed[0]["summary"] == {"epoch": 2, "eval__cer": 1 / 6}


def test_only_the_first_parse_of_the_command_line_is_recorded(env, project) -> None:
    (project / "commands.py").write_text(SUBCOMMANDS)
    run = nsml_cli(env, "run", "-d", "toy", "-e", "commands.py", "-a", "-v -v train --steps 7 --extra", cwd=project)
    assert "PARSED 2 train 7 ['--extra']" in run.stdout  # the entry sees argparse exactly as without nsml
    assert store(env).session("tester/toy/1").params == {"--verbose": 2, "command": "train", "--steps": 7,
                                                        "--rate": 0.5}


def test_an_entry_without_argparse_is_compared_by_its_argument_string(env, project) -> None:
    (project / "echo.py").write_text("import sys\nprint('ARGV', sys.argv[1:])\n")
    nsml_cli(env, "run", "-d", "toy", "-e", "echo.py", "-a", "--lr 0.1 --fast", cwd=project)
    nsml_cli(env, "run", "-d", "toy", "-e", "echo.py", "-a", "--lr 0.2 --fast", cwd=project)
    assert store(env).session("tester/toy/1").params is None
    lines = nsml_cli(env, "compare", "tester/toy/*").stdout.splitlines()
    assert lines[0] == "common arguments: --fast yes"
    assert lines[1].split() == ["SESSION", "STATUS", "--lr", "best", "CRR"]
    assert [line.split()[:3] for line in lines[2:]] == [["tester/toy/1", "done", "0.1"],
                                                        ["tester/toy/2", "done", "0.2"]]
