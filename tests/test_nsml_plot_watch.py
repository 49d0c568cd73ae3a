"""``nsml plot`` over several sessions (overlaid) and with ``--watch`` (redrawn until the sessions end)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from board_support import board_env, make_project
from nsml_support import nsml_cli


def drawn_texts(svg: Path) -> list[str]:
    """The texts of a matplotlib SVG (it draws glyphs as paths and keeps each text in a comment)."""
    return re.findall(r"<!-- (.*?) -->", svg.read_text())


def test_plot_overlays_sessions_and_watch_redraws_until_they_end(tmp_path: Path) -> None:
    env = board_env(tmp_path)
    project = make_project(tmp_path, env)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2", cwd=project)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3 --epoch_seconds 0.8 --use_attention", "--detach",
             cwd=project)

    out = tmp_path / "both.svg"
    watched = nsml_cli(env, "plot", "tester/toy/*", "--out", str(out), "--watch", "0.5", timeout=120)
    assert watched.stdout.strip() == str(out)  # the path, printed once
    assert "1 of 2 session(s) running" in watched.stderr  # it redrew while session 2 trained
    assert watched.stderr.strip().splitlines()[-1] == f"nsml: every session has ended; final plot: {out}"
    statuses = {s["name"]: s["status"] for s in json.loads(nsml_cli(env, "ps", "--json").stdout)}
    assert statuses == {"tester/toy/1": "done", "tester/toy/2": "done"}
    texts = drawn_texts(out)
    assert {"tester/toy/1 eval/loss", "tester/toy/1 train/loss", "tester/toy/2 eval/loss",
            "tester/toy/2 train/loss"} <= set(texts)
    assert "nsml sessions tester/toy/1, tester/toy/2" in texts

    both = nsml_cli(env, "plot", "tester/toy/1", "tester/toy/2").stdout.strip()
    assert both == str(Path(env["NSML_HOME"]) / "plot.png")  # several sessions: in NSML_HOME
    one = nsml_cli(env, "plot", "tester/toy/2").stdout.strip()
    assert one == str(Path(env["NSML_HOME"]) / "sessions" / "tester" / "toy" / "2" / "plot.png")
    missing = nsml_cli(env, "plot", "tester/toy/1", "tester/toy/9", check=False)
    assert missing.returncode == 2 and missing.stderr.startswith("nsml: error: no session 'tester/toy/9'")
