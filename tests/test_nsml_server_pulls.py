"""``model pull``, ``plot`` and ``dataset pull`` over a real ``nsml server`` process, typed at real ``nsml`` CLI
processes by two teams and the organiser: the same output as locally, each team only its own sessions, and a
dataset pull that holds the training split alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server_support import competition, needs_sandbox

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path, with its bytes."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and done.stdout == "", done.stderr
    return lines[0]


@pytest.fixture
def served(tmp_path: Path, env: dict[str, str]):
    with competition(tmp_path, env) as (server, data, users):
        yield server, data, users


@needs_sandbox
def test_pulls_and_plots_over_the_server_are_the_local_verbs_for_ones_own_team(served) -> None:
    server, data, users = served
    organiser, alpha, bravo = users["organiser"], users["alpha"], users["bravo"]
    alpha("run", "-d", "toy", "-a", "--epochs 2")
    bravo("run", "-d", "toy", "-a", "--epochs 1")
    checkpoints = server.home / "teams" / "alpha" / "sessions" / "alpha" / "toy" / "1" / "checkpoints"

    # model pull: into DIR/CHECKPOINT when DIR exists, else to DIR, the folder's files byte for byte
    (alpha.cwd / "pulled").mkdir()
    assert alpha("model", "pull", "alpha/toy/1", "best", "pulled").stdout == "pulled/best\n"
    assert files(alpha.cwd / "pulled" / "best") == files(checkpoints / "best")
    assert json.loads((alpha.cwd / "pulled" / "best" / "model.json").read_text())["epoch"] == 2
    assert alpha("model", "pull", "alpha/toy/1", "1", "first").stdout == "first\n"
    assert json.loads((alpha.cwd / "first" / "model.json").read_text())["epoch"] == 1
    assert one_line(alpha("model", "pull", "alpha/toy/1", "best", "pulled", code=1)) == \
        "nsml: pulled/best already exists"
    assert one_line(alpha("model", "pull", "alpha/toy/1", "9", "nine", code=2)) == \
        "nsml: error: no checkpoint '9' in session alpha/toy/1; checkpoints: 1, 2, best"
    (checkpoints / "1" / "passwd").symlink_to("/etc/passwd")  # a link out of the folder: refused, nothing written
    linked = one_line(alpha("model", "pull", "alpha/toy/1", "1", "linked", code=1))
    assert "refused by the data filter" in linked and not (alpha.cwd / "linked").exists()
    assert not list(alpha.cwd.glob(".linked.*"))

    # another team's checkpoint: one line, nothing written; the organiser pulls any team's
    refused = one_line(bravo("model", "pull", "alpha/toy/1", "best", "stolen", code=2))
    assert "session alpha/toy/1 belongs to another team; team bravo acts on its own sessions only" in refused
    assert not (bravo.cwd / "stolen").exists()
    organiser("model", "pull", "bravo/toy/1", "best", "bravo-best")
    assert json.loads((organiser.cwd / "bravo-best" / "model.json").read_text())["epoch"] == 1

    # plot: drawn on the server by nsml plot, written here; the suffix of --out picks the format
    assert alpha("plot", "alpha/toy/1").stdout == f"{alpha.cwd / 'plot.png'}\n"
    assert (alpha.cwd / "plot.png").read_bytes().startswith(PNG_SIGNATURE)
    assert alpha("plot", "alpha/toy/1", "--out", "curves/loss.svg").stdout == "curves/loss.svg\n"
    assert b"<svg" in (alpha.cwd / "curves" / "loss.svg").read_bytes()
    assert "belongs to another team" in one_line(bravo("plot", "alpha/toy/1", "--out", "theirs.png", code=2))
    assert not (bravo.cwd / "theirs.png").exists()
    assert "'.txt' is not an image format" in one_line(alpha("plot", "alpha/toy/1", "--out", "x.txt", code=2))
    assert "--watch is not run over the server" in one_line(alpha("plot", "alpha/toy/1", "--watch", code=2))
    organiser("plot", "bravo/toy/1", "--out", "bravo.png")
    assert (organiser.cwd / "bravo.png").read_bytes().startswith(PNG_SIGNATURE)

    # dataset pull: the training split, nothing of the test set
    assert alpha("dataset", "pull", "toy", "data").stdout == "data\n"
    pulled = files(alpha.cwd / "data")
    assert pulled == {f"train/{name}": content for name, content in files(data / "train").items()}
    test_labels = (data / "test" / "test_label").read_bytes()
    assert not any(name.startswith("test") or content == test_labels for name, content in pulled.items())
    assert one_line(alpha("dataset", "pull", "nope", "x", code=2)) == \
        "nsml: error: no dataset 'nope'; datasets: sample_dataset, toy"

    # dataset add: the server's datasets are the competitions the organiser creates
    assert "nsml admin competition create" in one_line(organiser("dataset", "add", "x", str(data), code=2))
    assert "datasets are added by the organiser" in one_line(alpha("dataset", "add", "x", str(data), code=2))

    # the scratch folders the verbs made in the teams' homes are gone
    for team in ("alpha", "bravo"):
        assert list((server.home / "teams" / team / "uploads").iterdir()) == []
