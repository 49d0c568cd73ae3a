"""main.py end to end, as a user runs it: ``python main.py`` on sample_dataset, a foreign label table, bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from label_loader import Vocab
from models import load_checkpoint
from nsml.store import Store
from support import ROOT

TINY_MODEL = ["--hidden_size", "32", "--layer_size", "1", "--batch_size", "8", "--workers", "2", "--use_attention",
              "--lr", "1e-3", "--max_len", "20"]


def run_main(args: list[str], checkpoints: Path, dataset: Path | None = None, timeout: int = 300
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NSML_")}
    env["NSML_CHECKPOINT_DIR"] = str(checkpoints)
    if dataset is not None:
        env["NSML_DATASET_PATH"] = str(dataset)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_train_on_sample_dataset_then_transcribe_and_score(tmp_path):
    checkpoints = tmp_path / "ckpt"
    done = run_main([*TINY_MODEL, "--max_epochs", "2"], checkpoints)
    assert done.returncode == 0, done.stderr
    assert "sample_dataset: 64 utterances" in done.stderr
    for name in ("model", "best"):
        checkpoint = load_checkpoint(checkpoints / name)
        assert checkpoint.config.hidden_size == 32 and checkpoint.vocab.chars == Vocab.from_file(
            ROOT / "hackathon.labels").chars
    assert load_checkpoint(checkpoints / "model").train_state["epoch"] == 2
    metrics = Store(checkpoints / "nsml.sqlite").latest_metrics("local")
    assert {"train__loss", "eval__loss", "train__cer", "eval__cer"} <= set(metrics)

    out = tmp_path / "pred.csv"
    test_list = ROOT / "sample_dataset/test/test_data/test_list.csv"
    done = subprocess.run([sys.executable, "-m", "evaluation.transcribe", "--checkpoint", str(checkpoints / "best"),
                           "--output", str(out), str(test_list)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 16 and all(line.split(",")[0].endswith(".wav") for line in lines)
    done = subprocess.run([sys.executable, "-m", "evaluation.score", str(out),
                           str(ROOT / "sample_dataset/test/test_label")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "CRR" in done.stdout


def test_a_dataset_with_its_own_label_table_trains(tiny_dataset, tmp_path, vocab):
    """The real hackathon brings its own table: other ids for the same characters must train unchanged."""
    texts = {}
    for line in (tiny_dataset / "train/train_label").read_text().splitlines():
        key, ids = line.split(",")
        texts[key] = vocab.decode(int(i) for i in ids.split())
    chars = sorted({c for t in texts.values() for c in t}, reverse=True)
    table = tmp_path / "their.labels"
    table.write_text("".join(f"{i}\t{c}\t1\n" for i, c in enumerate(["<s>", "</s>", *chars, "_"])),
                     encoding="utf-8")
    theirs = Vocab.from_file(table)
    (tiny_dataset / "train/train_label").write_text(
        "".join(f"{k},{' '.join(map(str, theirs.encode(t)))}\n" for k, t in texts.items()), encoding="utf-8")
    checkpoints = tmp_path / "ckpt"
    done = run_main([*TINY_MODEL, "--max_epochs", "1", "--labels", str(table)], checkpoints, tiny_dataset)
    assert done.returncode == 0, done.stderr
    checkpoint = load_checkpoint(checkpoints / "best")
    assert checkpoint.vocab.chars == theirs.chars and checkpoint.config.sos_id == 0


@pytest.mark.parametrize("breakage, message", [
    (lambda r: (r / "train/train_data/wav_001.wav").unlink(), "data_list.csv:2: .*wav_001.wav: audio file not found"),
    (lambda r: (r / "train/train_label").write_text("wav_000,1 2 100000\n"), "train_label:1: label id 100000"),
    (lambda r: (r / "train/train_data/data_list.csv").write_text("wav_000.wav wav_000.label\n"),
     "data_list.csv:1: expected"),
])
def test_bad_input_stops_before_training_with_file_and_line(tiny_dataset, tmp_path, breakage, message):
    breakage(tiny_dataset)
    checkpoints = tmp_path / "ckpt"
    done = run_main([*TINY_MODEL, "--max_epochs", "1"], checkpoints, tiny_dataset)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("main.py: error: ") and re.search(message, last), done.stderr
    assert "Traceback" not in done.stderr
    assert not (checkpoints / "best").exists()


def test_bad_flags_are_refused_by_the_parser(tmp_path):
    done = run_main(["--batch_size", "0"], tmp_path)
    assert done.returncode == 2 and "--batch_size must be at least 1" in done.stderr
    done = run_main(["--vtlp", "0.5"], tmp_path)
    assert done.returncode == 2
    assert "argument --vtlp: must be within [0, 0.5) (0: off; 0.1: factors 0.9-1.1), got 0.5" in done.stderr


def test_vtlp_changes_what_training_hears_and_repeats_with_the_seed(tiny_dataset, tmp_path):
    """The seed's STFT feature warped in frequency (``--vtlp``) trains other weights than without it, and the same
    weights again with the same seed."""
    args = [*TINY_MODEL, "--max_epochs", "1", "--workers", "1"]
    states = {}
    for name, extra in (("a", ["--vtlp", "0.1"]), ("b", ["--vtlp", "0.1"]), ("plain", [])):
        done = run_main([*args, *extra], tmp_path / name, tiny_dataset)
        assert done.returncode == 0, done.stderr
        states[name] = load_checkpoint(tmp_path / name / "model").model_state
    assert all(torch.equal(states["a"][k], states["b"][k]) for k in states["a"])
    assert not all(torch.equal(states["a"][k], states["plain"][k]) for k in states["a"])


def test_the_same_seed_trains_the_same_weights(tiny_dataset, tmp_path):
    """Three loader threads share one queue; taking turns makes the batch order, and so the run, repeatable."""
    args = [*TINY_MODEL, "--max_epochs", "2", "--batch_size", "1", "--workers", "3"]
    states = []
    for name in ("a", "b"):
        done = run_main(args, tmp_path / name, tiny_dataset)
        assert done.returncode == 0, done.stderr
        states.append(load_checkpoint(tmp_path / name / "model").model_state)
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
