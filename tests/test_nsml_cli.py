"""The ``nsml`` command as a whole: one-line errors for unknown names, --help everywhere, entry arguments."""

from __future__ import annotations

import argparse

import pytest

from nsml.cli import build_parser
from nsml_support import nsml_cli


def test_unknown_names_are_one_line_errors_listing_what_exists(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    cases = {
        ("logs", "tester/toy/9"): "nsml: no session 'tester/toy/9'; sessions: tester/toy/1",
        ("rm", "nobody/*"): "nsml: no session 'nobody/*'; sessions: tester/toy/1",
        ("model", "ls", "x/y/1"): "nsml: no session 'x/y/1'; sessions: tester/toy/1",
        ("submit", "tester/toy/1", "best2"): "nsml: no checkpoint 'best2' in session tester/toy/1; "
                                             "checkpoints: 1, best",
        ("fork", "tester/toy/1", "7"): "nsml: no checkpoint '7' in session tester/toy/1; checkpoints: 1, best",
        ("model", "pull", "tester/toy/1", "9", "out"): "nsml: no checkpoint '9' in session tester/toy/1; "
                                                       "checkpoints: 1, best",
        ("run", "-d", "nope"): "nsml: no dataset 'nope'; datasets: sample_dataset, toy",
        ("dataset", "board", "nope"): "nsml: no dataset 'nope'; datasets: sample_dataset, toy",
        ("dataset", "pull", "nope", "out"): "nsml: no dataset 'nope'; datasets: sample_dataset, toy",
    }
    for args, message in cases.items():
        result = nsml_cli(env, *args, cwd=project, check=False)
        assert (result.returncode, result.stderr.strip(), result.stdout) == (2, message, ""), args
    assert "nsml: no entry 'train.py'" in nsml_cli(env, "run", "-e", "train.py", cwd=project, check=False).stderr


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
    assert ["compare"] in verbs and ["model", "pull"] in verbs and len(verbs) == 17
    for verb in verbs:
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*verb, "--help"])
        description = capsys.readouterr().out.split("\n\n")[1]
        assert exited.value.code == 0 and len(description) > 30, verb


def test_entry_arguments_that_look_like_options(env, project) -> None:
    (project / "echo.py").write_text("import sys\nprint('ARGV', sys.argv[1:])\n")
    result = nsml_cli(env, "run", "-d", "toy", "-e", "echo.py", "-a", "--use_attention", cwd=project)
    assert "ARGV ['--use_attention']" in result.stdout
