"""``python -m evaluation.transcribe``: list files in the test-list form, printing to stdout, output path errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from format_support import ROOT, make_2019_dataset

from evaluation.transcribe import main as transcribe_main
from models import DecodingOptions, ModelConfig, build_model, save_checkpoint
from models.transcribe import transcribe
from speech_kit.features import Featurizer
from speech_kit.scoring import read_predictions


@pytest.fixture
def checkpoint(tmp_path: Path, vocab) -> Path:
    """An untrained tiny model, saved as a checkpoint folder."""
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    save_checkpoint(folder, build_model(config), config, vocab)
    return folder


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_2019_dataset(tmp_path / "ds", train=1, test=2)


def test_a_bare_list_file_is_read_relative_to_its_folder(tmp_path, checkpoint, dataset, capsys):
    listing = dataset / "test" / "test_data" / "test_list.csv"  # the 2019 form: one file name per line
    out = tmp_path / "pred.csv"
    assert transcribe_main(["--checkpoint", str(checkpoint), "--output", str(out), str(listing)]) == 0
    keys = list(read_predictions(out))
    assert keys == ["test_0001", "test_0002"]
    assert out.read_text(encoding="utf-8").startswith(f"{listing.parent / 'test_0001.wav'},")
    assert "transcribed 2 file(s)" in capsys.readouterr().out


@pytest.mark.parametrize("flags", [[], ["--output", "-"]], ids=["no-output", "dash"])
def test_without_an_output_file_the_lines_go_to_stdout(checkpoint, dataset, flags, capsys):
    wav = str(dataset / "test" / "test_data" / "test_0001.wav")
    assert transcribe_main(["--checkpoint", str(checkpoint), *flags, wav]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(wav + ",")


def test_a_missing_output_folder_is_one_line_before_any_decoding(tmp_path, checkpoint, dataset):
    wav = str(dataset / "test" / "test_data" / "test_0001.wav")
    target = tmp_path / "no" / "such" / "pred.csv"
    done = subprocess.run([sys.executable, "-m", "evaluation.transcribe", "--checkpoint", str(checkpoint),
                           "--output", str(target), wav], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"evaluation.transcribe: error: --output {target}: folder {target.parent} does not exist "
                           f"(create it first)\n")
    assert done.stdout == ""


def test_an_output_that_is_a_folder_is_refused(tmp_path, checkpoint, dataset, capsys):
    wav = str(dataset / "test" / "test_data" / "test_0001.wav")
    assert transcribe_main(["--checkpoint", str(checkpoint), "--output", str(tmp_path), wav]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_list_naming_a_missing_wav_names_it(tmp_path, checkpoint, capsys):
    listing = tmp_path / "list.txt"
    listing.write_text("missing.wav\n", encoding="utf-8")
    assert transcribe_main(["--checkpoint", str(checkpoint), str(listing)]) == 2
    assert f"{tmp_path / 'missing.wav'}: audio file not found" in capsys.readouterr().err


def test_ctc_weight_rescores_a_joint_models_beam_as_the_library_does(tmp_path, vocab, dataset, capsys):
    """``--ctc_weight`` reaches the attention beam's CTC rescoring: the CLI writes what ``transcribe`` gives with
    the same options, and a weight outside [0, 1] is refused before any decoding."""
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=16,
                         layer_size=1, ctc=True)
    model = build_model(config)
    folder = tmp_path / "joint"
    folder.mkdir()
    save_checkpoint(folder, model, config, vocab)
    wavs = [str(dataset / "test" / "test_data" / f"test_000{i}.wav") for i in (1, 2)]
    out = tmp_path / "pred.csv"
    flags = ["--beam_size", "3", "--ctc_weight", "0.5", "--max_len", "6"]
    assert transcribe_main(["--checkpoint", str(folder), *flags, "--output", str(out), *wavs]) == 0
    expected = transcribe(model.eval(), vocab, wavs, DecodingOptions(max_len=6, beam_size=3, ctc_weight=0.5),
                          Featurizer())
    assert list(read_predictions(out).values()) == expected
    with pytest.raises(SystemExit):
        transcribe_main(["--checkpoint", str(folder), "--ctc_weight", "2", *wavs])
    assert "ctc_weight must be within [0, 1]" in capsys.readouterr().err
