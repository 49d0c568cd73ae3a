"""What a new participant meets in the first hour: the 2019 train-only sample, mistyped flags, ``ps`` in a terminal,
the size of a snapshot, and the documented command that regenerates the label table."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from nsml_support import TOY_ENTRY, nsml_cli, write_wav
from support import ROOT

from label_loader import Vocab
from nsml import snapshot
from nsml.text import width

TEXTS = ["안녕하세요", "감사합니다", "괜찮습니다", "네 알겠습니다", "잠시만요", "예약 부탁드려요", "네 맞습니다",
         "아니요"]


def train_only(root: Path) -> Path:
    """The 2019 sample_dataset's form: train/ only, label ids from hackathon.labels, a wav length per utterance."""
    vocab = Vocab.from_file(ROOT / "hackathon.labels")
    data = root / "train" / "train_data"
    data.mkdir(parents=True)
    lines, labels = [], []
    for i, text in enumerate(TEXTS, 1):
        write_wav(data / f"wav_{i:03d}.wav", 800 * i)
        lines.append(f"wav_{i:03d}.wav,wav_{i:03d}.label\n")
        labels.append(f"wav_{i:03d},{' '.join(map(str, vocab.encode(text)))}\n")
    (data / "data_list.csv").write_text("".join(lines))
    (root / "train" / "train_label").write_text("".join(labels), encoding="utf-8")
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def sessions(env) -> list[str]:
    return [s["name"] for s in json.loads(nsml_cli(env, "ps", "--json").stdout)]


def test_a_train_only_2019_folder_registers_and_submit_says_there_is_no_test_set(env, project, tmp_path) -> None:
    folder = train_only(tmp_path / "sample_2019")
    added = nsml_cli(env, "dataset", "add", "old", str(folder))
    assert added.stderr.count("\n") == 1 and "8 train utterances" in added.stderr and "train-only" in added.stderr
    row = next(line for line in nsml_cli(env, "dataset", "ls").stdout.splitlines() if line.startswith("old "))
    assert row.split()[:6] == ["old", str(folder), "8", "-", "crr", "-"]

    refused = nsml_cli(env, "run", "-d", "old", "-a", "--epochs 1", "--submit", "best", cwd=project, check=False)
    assert refused.returncode == 2 and "has no test split" in refused.stderr and sessions(env) == []
    nsml_cli(env, "run", "-d", "old", "-a", "--epochs 1", cwd=project)  # trains on it like any dataset
    submitted = nsml_cli(env, "submit", "tester/old/1", "best", check=False)
    assert submitted.returncode == 1 and submitted.stderr.count("\n") == 1
    assert "dataset 'old' has no test split" in submitted.stderr
    assert f"nsml dataset add old_split {folder} --test_from_train N" in submitted.stderr


def test_test_from_train_carves_a_seeded_held_out_split_in_the_2019_format(env, project, tmp_path) -> None:
    folder = train_only(tmp_path / "sample_2019")
    before = tree_digest(folder)
    added = nsml_cli(env, "dataset", "add", "split", str(folder), "--test_from_train", "3", "--split_seed", "7")
    carved = Path(env["NSML_HOME"]) / "datasets" / "split"
    assert f"dataset split -> {carved} (5 train, 3 test utterances" in added.stderr
    assert tree_digest(folder) == before  # the user's folder is only read

    test_wavs = (carved / "test" / "test_data" / "test_list.csv").read_text().split()
    train_lines = (carved / "train" / "train_data" / "data_list.csv").read_text().splitlines()
    assert len(test_wavs) == 3 and all(re.fullmatch(r"wav_00\d\.wav", name) for name in test_wavs)
    assert sorted(test_wavs + [line.split(",")[0] for line in train_lines]) == [f"wav_{i:03d}.wav" for i in
                                                                                range(1, 9)]
    expected = {f"wav_{i:03d}": text for i, text in enumerate(TEXTS, 1)}
    labels = (carved / "test" / "test_label").read_text(encoding="utf-8").splitlines()
    assert labels == [f"{name[:-4]},{expected[name[:-4]]}" for name in test_wavs]
    assert all((carved / "test" / "test_data" / name).read_bytes() ==
               (folder / "train" / "train_data" / name).read_bytes() for name in test_wavs)
    train_keys = [line.split(",")[0] for line in (carved / "train" / "train_label").read_text().splitlines()]
    assert sorted(train_keys) == sorted(line.split(",")[0][:-4] for line in train_lines)

    nsml_cli(env, "dataset", "add", "again", str(folder), "--test_from_train", "3", "--split_seed", "7")
    again = Path(env["NSML_HOME"]) / "datasets" / "again"
    assert tree_digest(again) == tree_digest(carved)  # same folder, count and seed: the same split

    too_many = nsml_cli(env, "dataset", "add", "all", str(folder), "--test_from_train", "8", check=False)
    assert too_many.returncode == 2 and "lists 8 utterances" in too_many.stderr
    assert not (Path(env["NSML_HOME"]) / "datasets" / "all").exists()

    nsml_cli(env, "run", "-d", "split", "-a", "--epochs 2", cwd=project)
    scored = nsml_cli(env, "submit", "tester/split/1", "best")
    assert "CRR" in scored.stdout + scored.stderr


def test_a_mistyped_entry_flag_is_one_line_and_makes_no_session(env, project) -> None:
    typo = nsml_cli(env, "run", "-d", "toy", "-a", "--epohcs 2", cwd=project, check=False)
    assert (typo.returncode, typo.stdout) == (2, "")
    assert typo.stderr == ('nsml: error: main.py rejects -a "--epohcs 2": unrecognized arguments: --epohcs 2; did '
                           'you mean --epochs? (no session was started)\n')
    bad_value = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs two", cwd=project, check=False)
    assert bad_value.returncode == 2 and bad_value.stderr.count("\n") == 1
    assert "argument --epochs: invalid int value: 'two'" in bad_value.stderr

    outside = nsml_cli(env, "run", "-d", "toy", "--epochs", "2", cwd=project, check=False)
    assert outside.returncode == 2 and outside.stderr.count("\n") == 1
    assert outside.stderr.endswith('-a "--epochs 2"\n') and "not an option of nsml run" in outside.stderr
    verb = nsml_cli(env, "rn", "-d", "toy", check=False)
    assert verb.returncode == 2 and "did you mean run?" in verb.stderr
    assert sessions(env) == []

    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    fork = nsml_cli(env, "fork", "tester/toy/1", "best", "-a", "--use_atention", check=False)
    assert fork.returncode == 2 and "did you mean --use_attention?" in fork.stderr
    assert sessions(env) == ["tester/toy/1"]


def test_an_entry_without_a_parse_or_with_parse_known_args_is_not_held_up(env, project) -> None:
    (project / "known.py").write_text("import argparse\np = argparse.ArgumentParser()\np.add_argument('--a')\n"
                                      "print('REST', p.parse_known_args()[1])\n")
    ran = nsml_cli(env, "run", "-d", "toy", "-e", "known.py", "-a", "--b 1", cwd=project)
    assert "REST ['--b', '1']" in ran.stdout


def test_ps_in_a_terminal_shows_the_arguments_that_differ(env, project) -> None:
    common = "--mode train --pause 0 --epoch_seconds 0 --save_seconds 0 --load_seconds 0 --broken ''"
    for epochs in (1, 2):
        nsml_cli(env, "run", "-d", "toy", "-a", f"{common} --epochs {epochs}", cwd=project)
    lines = nsml_cli(env, "ps", columns=120).stdout.splitlines()
    assert lines[0] == f"arguments of every session: {common}"
    assert lines[1].split()[:3] == ["SESSION", "CREATED", "ARGS"]
    assert "--epochs 1" in lines[2] and "--epochs 2" in lines[3] and "--mode" not in lines[2] + lines[3]
    assert all(width(line) <= 120 for line in lines)
    piped = nsml_cli(env, "ps").stdout.splitlines()  # a pipe gets every whole argument string
    assert piped[0].startswith("SESSION") and f"{common} --epochs 1" in piped[1]


def test_a_snapshot_of_this_repository_leaves_out_models_data_and_virtualenvs(tmp_path) -> None:
    copied = snapshot.copy_code(ROOT, tmp_path / "code")
    code = tmp_path / "code"
    assert (code / "main.py").is_file() and (code / "nsml" / "cli.py").is_file()
    for left_out in ("pretrained", "ru_numbers/states", "sample_dataset", ".venv", "data", "checkpoints"):
        assert not (code / left_out).exists(), left_out
    assert copied.bytes < 8 << 20

    project = tmp_path / "project"  # no .nsmlignore: a virtualenv is still never code
    (project / "env" / "lib").mkdir(parents=True)
    (project / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "env" / "lib" / "big.py").write_text("x = 1\n")
    (project / "main.py").write_text(TOY_ENTRY)
    snapshot.copy_code(project, tmp_path / "code2")
    assert sorted(p.name for p in (tmp_path / "code2").iterdir()) == ["main.py"]


def test_the_documented_label_table_command_regenerates_the_committed_table(tmp_path) -> None:
    doc = (ROOT / "docs" / "dataset.md").read_text(encoding="utf-8")
    section = doc.split("## Regenerating the committed files", 1)[1]
    command = next(line for line in section.splitlines() if "corpus.build_labels" in line)
    assert command.startswith("python -m corpus.build_labels ") and "--out hackathon.labels" in command
    out = tmp_path / "hackathon.labels"
    argv = command.split()[1:]
    argv[argv.index("hackathon.labels")] = str(out)
    subprocess.run([sys.executable, *argv], cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert out.read_bytes() == (ROOT / "hackathon.labels").read_bytes()
