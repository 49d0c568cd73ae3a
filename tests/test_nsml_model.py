"""``nsml model ls/rm/pull`` and ``nsml plot`` on a finished toy session."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from nsml_support import nsml_cli

SESSION = "tester/toy/1"


@pytest.fixture
def trained(env, project) -> str:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=project)
    return SESSION


def test_model_ls_rm_pull(env, trained, tmp_path: Path) -> None:
    lines = nsml_cli(env, "model", "ls", trained).stdout.splitlines()
    assert lines[0].split() == ["CHECKPOINT", "LAST", "MODIFIED", "ELAPSED", "SUMMARY", "SIZE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"1", "2", "3", "best"}
    # the summary is what was reported before that save, not the epoch before
    assert "epoch=1 eval__cer=0.3333 eval__loss=1.5" in rows["1"]
    assert "epoch=3 eval__cer=0.1111 eval__loss=0.5" in rows["best"]
    assert rows["3"].endswith("173 B")  # {"epoch": 3, "table": {...}, "use_attention": false} as JSON

    pulled = Path(nsml_cli(env, "model", "pull", trained, "best", str(tmp_path / "out")).stdout.strip())
    assert pulled == tmp_path / "out"
    assert json.loads((pulled / "model.json").read_text())["epoch"] == 3
    into = Path(nsml_cli(env, "model", "pull", trained, "2", str(tmp_path)).stdout.strip())
    assert into == tmp_path / "2" and (into / "model.json").is_file()

    nsml_cli(env, "model", "rm", trained, "2")
    remaining = [line.split()[0] for line in nsml_cli(env, "model", "ls", trained).stdout.splitlines()[1:]]
    assert sorted(remaining) == ["1", "3", "best"]
    missing = nsml_cli(env, "model", "rm", trained, "2", check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"nsml: error: no checkpoint '2' in session {trained}; checkpoints: 1, 3, best"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_plot_draws_every_metric_family(env, trained, tmp_path: Path) -> None:
    default = Path(nsml_cli(env, "plot", trained).stdout.strip())
    assert default == Path(env["NSML_HOME"]) / "sessions" / trained / "plot.png"
    width, height = png_size(default)
    assert width >= 600 and height >= 400 and default.stat().st_size > 20_000  # three panels, not a blank

    chosen = nsml_cli(env, "plot", trained, "--out", str(tmp_path / "p.png")).stdout.strip()
    assert Path(chosen) == tmp_path / "p.png" and png_size(tmp_path / "p.png") == (width, height)


def test_plot_families_share_panels() -> None:
    from nsml.plot import family_and_label

    assert family_and_label("train__loss") == ("loss", "train/loss")
    assert family_and_label("eval__loss") == ("loss", "eval/loss")
    assert family_and_label("train_step__cer") == ("cer", "train_step/cer")
    assert family_and_label("epoch") == ("epoch", "epoch")
