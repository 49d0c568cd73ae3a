"""Fine-tuning from a shipped model: ``main.py --init pretrained/korean`` (and through ``nsml run -a``) takes the
checkpoint's architecture and units, refuses flags that contradict it and transcripts it cannot spell, each in
one line before any training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from nsml_support import nsml_cli
from support import ROOT, write_tone
from test_main import run_main

from label_loader import Vocab
from models import load_checkpoint

PRETRAINED = ROOT / "pretrained" / "korean"
FAST = ["--max_epochs", "1", "--precision", "fp32", "--workers", "1"]


def test_a_flag_that_contradicts_the_checkpoint_is_one_line_naming_both_values(tmp_path):
    done = run_main(["--init", str(PRETRAINED), "--hidden_size", "512", "--units", "char", "--layer_size", "3",
                     "--conv_kernels", "21x11,11x11", "--conv_time_strides", "2,3"], tmp_path / "ckpt")
    assert done.returncode == 2 and done.stderr.count("error") == 1, done.stderr
    assert "--hidden_size 512 (it has 256)" in done.stderr and "--units char (it has jamo)" in done.stderr
    assert "--conv_kernels 21x11,11x11 (it has 41x11,21x11)" in done.stderr
    assert "--conv_time_strides 2,3 (it has 2,2)" in done.stderr
    assert "--layer_size" not in done.stderr  # given, but the checkpoint's own value
    assert not (tmp_path / "ckpt").exists()


def test_a_folder_without_a_checkpoint_is_refused_while_parsing(tmp_path):
    done = run_main(["--init", str(tmp_path)], tmp_path / "ckpt")
    assert done.returncode == 2 and "argument --init" in done.stderr and "no model.pt there" in done.stderr


def test_transcripts_the_checkpoint_cannot_spell_are_refused_naming_the_characters(tmp_path):
    """Jamo cover every Hangul syllable (a syllable no training text had is fine); Latin letters and digits are not."""
    texts = ["안녕 A", "뷁 7", "감사합니다 A"]
    table = Vocab.from_counts(Counter("".join(texts)), source="labels")
    root = tmp_path / "data"
    data = root / "train" / "train_data"
    data.mkdir(parents=True)
    lines, labels = [], []
    for i, text in enumerate(texts):
        write_tone(data / f"w{i}.wav", 1.0, seed=i)
        lines.append(f"w{i}.wav,w{i}.label\n")
        labels.append(f"w{i},{' '.join(map(str, table.encode(text)))}\n")
    (data / "data_list.csv").write_text("".join(lines))
    (root / "train" / "train_label").write_text("".join(labels))
    table.write(tmp_path / "labels.txt")
    done = run_main(["--init", str(PRETRAINED), "--labels", str(tmp_path / "labels.txt"), *FAST], tmp_path / "ckpt",
                    dataset=root)
    assert done.returncode == 2, done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("main.py: error: --init") and "2 character(s)" in error
    assert "'A' (2 utterances), '7' (1 utterance)" in error and "every Hangul syllable is covered" in error


@pytest.mark.slow
def test_nsml_run_fine_tunes_the_shipped_model_on_sample_dataset(env):
    """``-a "--init pretrained/korean"``: the session's code snapshot has no pretrained/, the checkout has."""
    nsml_cli(env, "dataset", "add", "sample", str(ROOT / "sample_dataset"))
    nsml_cli(env, "run", "-d", "sample", "-a", f"--init pretrained/korean --batch_size 16 {' '.join(FAST)}",
             cwd=ROOT, timeout=300)
    session = json.loads(nsml_cli(env, "ps", "--json").stdout)[0]
    assert session["status"] == "done"
    log = nsml_cli(env, "logs", session["name"]).stdout
    assert "fine-tuning from" in log and "--units jamo" in log
    best = load_checkpoint(Path(env["NSML_HOME"]) / "sessions" / "tester" / "sample" / "1" / "checkpoints" / "best")
    shipped = load_checkpoint(PRETRAINED)
    assert best.config == shipped.config and best.units == "jamo" and best.vocab.chars == shipped.vocab.chars
    eval_cer = [float(line.split("cer ")[-1]) for line in log.splitlines() if "| eval" in line]
    assert eval_cer and eval_cer[-1] < 0.7  # from scratch, one epoch of 64 utterances stays at 1.0


def test_a_fine_tuning_run_whose_epochs_do_worse_keeps_its_starting_weights_as_best(tmp_path):
    """The starting weights are validated before the first epoch and saved as 'best'; an epoch that wrecks them
    (Adam at learning rate 1) does not replace them, so the run's best (what a recipe exports) is no worse than
    where it started."""
    shipped = ROOT / "ru_numbers" / "states" / "words"
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "ru_numbers.generate", "--out", str(data), "--split", "train", "--count",
                    "40", "--seed", "5", "--jobs", "2"], check=True, capture_output=True, cwd=ROOT)
    done = subprocess.run([sys.executable, "-m", "ru_numbers.train", "--train", str(data / "train.csv"), "--init",
                           str(shipped), "--max_epochs", "1", "--workers", "1", "--precision", "fp32", "--lr", "1",
                           "--warmup_steps", "0"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "NSML_CHECKPOINT_DIR": str(tmp_path / "ck")})
    assert done.returncode == 0, done.stderr[-2000:]
    taken = next(line for line in done.stderr.splitlines() if "fine-tuning from" in line)
    assert "its architecture (--conv_kernels 21x11,11x11 --conv_time_strides 2,3)" in taken  # flags left out
    start = next(line for line in done.stderr.splitlines() if "epoch 0/1 (the starting weights)" in line)
    assert "saved as 'best'" in start and "new best" not in done.stderr
    start_loss = float(start.split("eval loss ")[1].split()[0])
    epoch_loss = float(next(line for line in done.stderr.splitlines() if "epoch 1/1: train" in line)
                       .split("| eval loss ")[1].split()[0])
    assert epoch_loss > start_loss
    best, last, init = (load_checkpoint(path) for path in (tmp_path / "ck" / "best", tmp_path / "ck" / "model",
                                                          shipped))
    assert all(torch.equal(best.model_state[k], v) for k, v in init.model_state.items())
    assert not all(torch.equal(last.model_state[k], v) for k, v in init.model_state.items())


def test_ru_numbers_fine_tuning_names_a_flag_that_contradicts_the_checkpoint(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ru_numbers.train", "--train", "x.csv", "--init",
                           str(ROOT / "ru_numbers" / "states" / "words"), "--hidden_size", "64", "--conv_kernels",
                           "21x11,11x11"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--hidden_size 64 (it has 192)" in done.stderr
    assert "--conv_kernels 21x11,11x11 (it has" not in done.stderr  # given, but the checkpoint's own value
