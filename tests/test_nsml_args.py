"""Sessions record the arguments their entry really used (argparse's resolved values, defaults included)."""

from __future__ import annotations

import hashlib
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


LABELLED_ENTRY = '''
import argparse, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("NSML_SESSION") and os.path.exists(os.path.join(HERE, "crash_before_parse")):
    sys.exit("crashed before parsing its arguments")
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--labels", default=os.path.join(HERE, "table.labels"))  # a path into each session's snapshot
args = parser.parse_args()
import nsml
nsml.report(summary=True, step=1, eval__cer=args.lr)
'''


def test_compare_ignores_what_a_failed_session_never_recorded_and_reads_labels_by_content(env, project) -> None:
    (project / "labelled.py").write_text(LABELLED_ENTRY)
    (project / "table.labels").write_text("0\t_\t0\n1\t가\t5\n")
    for lr in ("0.2", "0.3"):
        nsml_cli(env, "run", "-d", "toy", "-e", "labelled.py", "-a", f"--lr {lr}", cwd=project)
    (project / "crash_before_parse").write_text("")  # only the snapshot of the next session has it
    failed = nsml_cli(env, "run", "-d", "toy", "-e", "labelled.py", "-a", "--lr 4e-1", cwd=project, check=False)
    assert failed.returncode != 0 and store(env).session("tester/toy/3").params is None
    (project / "crash_before_parse").unlink()
    (project / "table.labels").write_text("0\t_\t0\n1\t나\t5\n")  # an edited table
    edited_digest = hashlib.sha256((project / "table.labels").read_bytes()).hexdigest()[:8]
    nsml_cli(env, "run", "-d", "toy", "-e", "labelled.py", "-a", "--lr 0.5", cwd=project)

    lines = nsml_cli(env, "compare", "tester/toy/[123]").stdout.splitlines()
    shipped = lines[0].split("--labels ", 1)[1]
    assert lines[0].startswith("common arguments: --epochs 2 --labels table.labels@")
    assert lines[1].split() == ["SESSION", "STATUS", "--lr", "best", "eval__cer", "best", "CRR"]
    assert [line.split()[2] for line in lines[2:]] == ["0.2", "0.3", "0.4"]  # 4e-1 as the recorded ones show it

    lines = nsml_cli(env, "compare", "tester/toy/*").stdout.splitlines()
    assert lines[0] == "common arguments: --epochs 2"
    assert lines[1].split()[:4] == ["SESSION", "STATUS", "--lr", "--labels"]
    assert [line.split()[3] for line in lines[2:]] == [shipped, shipped, "-", f"table.labels@{edited_digest}"]

    # TensorBoard's HPARAMS tab gets the same value (the session's own event file, read as tensorboard reads it)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata
    events = EventAccumulator(str(Path(env["NSML_HOME"]) / "sessions" / "tester" / "toy" / "1"))
    events.Reload()
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    assert metadata.parse_session_start_info_plugin_data(content).hparams["labels"].string_value == shipped
