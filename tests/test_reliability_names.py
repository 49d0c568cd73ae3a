"""Names given to the ``nsml`` command, on real sessions: a checkpoint name that is empty, ``.``/``..``, has a path
separator or is a link to the checkpoint folder itself never means "every checkpoint" to ``model rm``, ``model
pull``, ``submit`` or ``fork``; each is refused in one line and nothing is deleted, copied or started."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from nsml_support import nsml_cli

from nsml import checkpoints

SESSION = "tester/toy/1"
VERBS = (("model", "rm", SESSION), ("model", "pull", SESSION), ("submit", SESSION), ("fork", SESSION))


@pytest.fixture
def trained(env, project) -> Path:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    return Path(env["NSML_HOME"]) / "sessions" / SESSION / "checkpoints"


def _contents(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.mark.parametrize("name, problem", [("", "it is empty"), (".", "it names a folder"),
                                           ("..", "it names a folder"), ("../checkpoints", "one path part"),
                                           ("1/", "one path part"), (".versions", "the platform's own")])
def test_a_checkpoint_name_that_is_not_one_plain_part_is_refused_by_every_verb(env, trained, tmp_path, name,
                                                                                problem) -> None:
    before = _contents(trained)
    pulled = tmp_path / "pulled"
    for verb in VERBS:
        args = [*verb, name, str(pulled)] if verb[1] == "pull" else [*verb, name]
        refused = nsml_cli(env, *args, check=False)
        assert refused.returncode == 2, (args, refused.stderr)
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert refused.stderr.startswith(f"nsml: error: invalid checkpoint name {name!r}: ")
        assert problem in refused.stderr and f"checkpoints in session {SESSION}: 1, best" in refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert _contents(trained) == before and not pulled.exists()
    assert [line.split()[0] for line in nsml_cli(env, "ps").stdout.splitlines()[1:]] == [SESSION]  # no fork
    assert nsml_cli(env, "submit", "ls", SESSION, "--json").stdout.strip() == "[]"  # no submission


@pytest.mark.parametrize("target", [".", ".versions"])
def test_a_link_to_the_folder_of_every_checkpoint_is_not_one_checkpoint(env, trained, tmp_path, target) -> None:
    (trained / "all").symlink_to(target)
    before = _contents(trained)
    for verb in VERBS:
        args = [*verb, "all", str(tmp_path / "pulled")] if verb[1] == "pull" else [*verb, "all"]
        refused = nsml_cli(env, *args, check=False)
        assert refused.returncode == 1, (args, refused.stderr)
        assert "checkpoint 'all' of" in refused.stderr and "not one checkpoint" in refused.stderr
    assert _contents(trained) == before and not (tmp_path / "pulled").exists()
    nsml_cli(env, "model", "rm", SESSION, "1")  # a real checkpoint still goes
    assert (trained / "best" / "model.json").is_file() and not (trained / "1").exists()


def test_the_same_check_refuses_a_checkpoint_flag_when_parsed(capsys) -> None:
    parser = argparse.ArgumentParser(prog="nsml run")
    parser.add_argument("--submit", type=checkpoints.argument)
    assert parser.parse_args(["--submit", "best"]).submit == "best"
    for name, problem in (("", "it is empty"), ("..", "it names a folder"), ("a/b", "it must be one path part")):
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(["--submit", name])
        assert exited.value.code == 2
        last = capsys.readouterr().err.splitlines()[-1]
        assert last.startswith(f"nsml run: error: argument --submit: invalid checkpoint name {name!r}: {problem}")
