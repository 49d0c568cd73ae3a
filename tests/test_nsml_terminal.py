"""What the terminal shows: tables cut to its width, escaped memos, quiet broken pipes, one-line usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

from nsml.text import width
from nsml_support import nsml_cli


def test_ps_fits_the_terminal_and_escapes_control_characters(env, project) -> None:
    long_args = "--epochs 1 " + " ".join(f"--broken x{i}" for i in range(12))
    nsml_cli(env, "run", "-d", "toy", "-a", long_args, "-m", "첫 번째 실험: 아주 긴 메모입니다 " * 3, cwd=project)
    nsml_cli(env, "memo", "tester/toy/1", "red \x1b[31malert\nsecond line")
    lines = nsml_cli(env, "ps", columns=80).stdout.splitlines()
    assert len(lines) == 2 and all(width(line) <= 80 for line in lines)
    assert "…" in lines[1] and "\x1b" not in lines[1]

    whole = nsml_cli(env, "ps").stdout.splitlines()  # a pipe gets the whole record, escaped
    assert whole[1].endswith("red \\x1b[31malert\\nsecond line") and long_args in whole[1]
    record = json.loads(nsml_cli(env, "ps", "--json").stdout)[0]
    assert record["memo"] == "red \x1b[31malert\nsecond line" and record["args"] == long_args

    models = nsml_cli(env, "model", "ls", "tester/toy/1", columns=60).stdout.splitlines()
    assert all(width(line) <= 60 for line in models) and "…" in models[1]
    assert {item["checkpoint"] for item in json.loads(nsml_cli(env, "model", "ls", "tester/toy/1", "--json").stdout)} \
        == {"1", "best"}


def test_a_reader_that_stops_early_ends_ps_quietly(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    nsml_cli(env, "memo", "tester/toy/1", "m" * 100_000)  # more than a pipe holds: ps is still writing when head quits
    piped = subprocess.run(f"{sys.executable} -m nsml ps | head -1", shell=True, env=env, capture_output=True,
                           text=True, timeout=60)
    assert piped.stdout.split() == ["SESSION", "CREATED", "ARGS", "STATUS", "SUMMARY", "MEMO"]
    assert piped.stderr == ""


def test_plot_refuses_an_image_format_it_cannot_write(env, project, tmp_path) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2", cwd=project)
    for out in ("plot.xyz", "plot"):
        refused = nsml_cli(env, "plot", "tester/toy/1", "--out", str(tmp_path / out), check=False)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert refused.stderr.startswith(f"nsml: error: --out {tmp_path / out}: ") and ".png" in refused.stderr
    svg = tmp_path / "plot.svg"
    assert nsml_cli(env, "plot", "tester/toy/1", "--out", str(svg)).stdout.strip() == str(svg)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plot")] == []  # no temporary file left
