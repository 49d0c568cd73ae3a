"""``benchmarks.reference`` against the 2019 baseline's own code (``benchmarks.original``), which the project does
not ship: the slow tests run where ``SPEECH_2019_CODE`` points to a copy of it, and skip elsewhere.

They check that the reference trains what the 2019 code trains (the same losses and weights, batch by batch) and
that it costs what the 2019 code costs: seconds of audio trained per second within 5 % of the 2019 code's, both
measured the benchmark's way (fresh processes, alternated, medians). ``SPEECH_2019_TEST_HIDDEN`` shrinks the model
of the timing test (a quick run of the test itself; the figure that counts is at the seed's 512).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.common import BenchmarkError, durations, isolated, load_train
from benchmarks.original import ENV_VAR, check_folder, folder_from, load_original
from benchmarks.train_step import ORIGINAL, REFERENCE, audio_rate, measure, same_training
from speech_kit.threads import recommended_threads

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_dataset"
# A teacher-forced batch of 32, then a free-running one of 8 (random.Random(1) draws 0.13, then 0.85): both ways
# the decoder trains, in about a minute at the seed's size on two idle cores.
UTTERANCES = 40
REPEATS = 3
HIDDEN = int(os.environ.get("SPEECH_2019_TEST_HIDDEN") or 512)
TOLERANCE = 0.05
HOW = (f"set {ENV_VAR} to a folder holding the 2019 baseline's main.py, loader.py, label_loader.py and models/ "
       f"(patched for torch 2) to compare benchmarks.reference with it")


@pytest.fixture
def original_code() -> Path:
    folder = folder_from(None)
    if folder is None:
        pytest.skip(HOW)
    return check_folder(folder)


@pytest.mark.slow
def test_the_reference_trains_what_the_2019_code_trains(original_code, tmp_path):
    result = isolated(recommended_threads(), same_training, str(SAMPLE), str(tmp_path), UTTERANCES, 64,
                      str(original_code))
    assert result["parameters"] == result["their_parameters"]
    assert result["reference"] == pytest.approx(result["original"], rel=1e-6), result
    assert result["max_weight_difference"] < 1e-6, result


@pytest.mark.slow
def test_the_reference_trains_as_fast_as_the_2019_code(original_code, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))  # as the benchmark runs
    _, train = load_train(SAMPLE)
    audio = sum(durations(train.wav_paths[:UTTERANCES]))
    cases = {REFERENCE: ("seed", "fp32", 0, 1), ORIGINAL: ("original", "fp32", 0, 1)}
    results = measure(cases, str(SAMPLE), str(tmp_path), UTTERANCES, HIDDEN, REPEATS, recommended_threads(),
                      str(original_code))
    reference, original = audio_rate(audio, results[REFERENCE]), audio_rate(audio, results[ORIGINAL])
    seconds = {name: [round(r["seconds"], 2) for r in runs] for name, runs in results.items()}
    assert abs(reference / original - 1) <= TOLERANCE, (
        f"hidden {HIDDEN}: reference {reference:.2f} s of audio/s, 2019 code {original:.2f}: {seconds}")


def test_without_the_variable_the_comparison_says_how_to_point_to_the_code(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert folder_from(None) is None
    assert ENV_VAR in HOW and "models/" in HOW


def test_the_option_wins_over_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from_env"))
    assert folder_from(tmp_path / "option") == tmp_path / "option"
    assert folder_from(None) == tmp_path / "from_env"


def test_a_folder_without_the_2019_models_is_refused_in_one_line_naming_it(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "main.py").write_text("")
    with pytest.raises(BenchmarkError) as refused:
        load_original(tmp_path)
    message = str(refused.value)
    assert "\n" not in message
    assert str(tmp_path.resolve()) in message
    assert "missing loader.py, label_loader.py, models/__init__.py, models/EncoderRNN.py" in message


def test_the_benchmark_refuses_such_a_folder_before_measuring_anything(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.train_step", "--data", str(SAMPLE)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, ENV_VAR: str(tmp_path), "OMP_WAIT_POLICY": "PASSIVE"})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # no header, no matmul measurement, no data made
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path.resolve()) in lines[0] and "models/" in lines[0], lines


def test_the_2019_code_imports_under_its_own_names_and_leaves_the_projects_in_place(tmp_path):
    """A stand-in with the 2019 layout: its ``models``, ``loader`` and ``nsml`` are its own while it imports, and
    the project's modules of those names are what they were afterwards."""
    import models
    import nsml

    _write_stand_in(tmp_path)
    main = load_original(tmp_path)
    assert sys.modules["models"] is models and sys.modules["nsml"] is nsml
    assert Path(main.stand_in_models.__file__) == tmp_path.resolve() / "models" / "__init__.py"
    assert main.EncoderRNN.__module__ == "models.EncoderRNN" and main.EncoderRNN is not models.EncoderRNN
    assert main.HAS_DATASET is False and main.nsml.report(step=1, loss=0.5) is None  # records nothing
    assert not (tmp_path / "__pycache__").exists() and not (tmp_path / "models" / "__pycache__").exists()


def _write_stand_in(folder: Path) -> None:
    (folder / "models").mkdir()
    for module, name in (("EncoderRNN", "EncoderRNN"), ("DecoderRNN", "DecoderRNN"), ("seq2seq", "Seq2seq")):
        (folder / "models" / f"{module}.py").write_text(f"class {name}:\n    pass\n")
    (folder / "models" / "__init__.py").write_text(
        "from .EncoderRNN import EncoderRNN\nfrom .DecoderRNN import DecoderRNN\nfrom .seq2seq import Seq2seq\n")
    (folder / "loader.py").write_text("N_FFT = 512\n")
    (folder / "label_loader.py").write_text("def load_label(path):\n    return {}, {}\n")
    (folder / "main.py").write_text(textwrap.dedent("""\
        import label_loader
        import models as stand_in_models
        import nsml
        from loader import *
        from models import EncoderRNN, DecoderRNN, Seq2seq
        from nsml import HAS_DATASET


        def train(*args):
            pass
        """))
