"""The recipes' numbered stages: STAGE/STOP_STAGE select them, the data stage keeps data already present unless
FORCE_DATA=1, DRY_RUN=1 prints the commands. Nothing here trains: the dry runs run no command, and the one real run
is a data stage over data already made."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from install_support import clean_env, fake_virtualenv
from ru_support import generate

from support import ROOT

RECIPES = ROOT / "recipes"
# the Russian recipe's rendered sets: five joined for training, two for development, three held out
RUSSIAN_SETS = ("train_espeak/train.csv", "train.csv", "train_festival_phone/train.csv", "train_phone/train.csv",
                "train_pitch_free/train.csv",
                "dev_espeak/train.csv", "dev_festival/train.csv",
                "test_espeak/test.csv", "test_festival/test.csv", "test_pitch_free/test.csv")
# the data stage's command that makes the data, and the files whose presence means it is made
MAKES = {"korean.sh": ("corpus.make_dataset", ("labels.txt",)),
         "compare_korean.sh": ("corpus.make_dataset", ("labels.txt",)),
         "finetune_korean.sh": ("corpus.make_dataset", ("labels.txt",)),
         "russian.sh": ("ru_numbers.generate", RUSSIAN_SETS)}


def recipe(name: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    """``recipes/NAME`` with ``settings`` in a clean environment and a private NSML_HOME. PYTHON is ``false`` unless
    a test sets it, so that a dry run which ran any Python command would fail."""
    env = clean_env(**{"NSML_HOME": str(tmp_path / "home"), "NSML_USER": "tester", "PYTHON": shutil.which("false"),
                       **settings})
    return subprocess.run(["bash", str(RECIPES / name)], env=env, capture_output=True, text=True, timeout=120)


def stages(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"^stage (\d+): ", output, re.MULTILINE)]


@pytest.mark.parametrize("name", sorted(p.name for p in RECIPES.glob("*.sh")))
def test_every_recipe_parses(name):
    done = subprocess.run(["bash", "-n", str(RECIPES / name)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("name", "count"), [("korean.sh", 4), ("russian.sh", 4), ("compare_korean.sh", 2),
                                                    ("finetune_korean.sh", 2)])
def test_a_dry_run_says_every_stage_and_prints_its_commands(name, count, tmp_path):
    done = recipe(name, tmp_path, DRY_RUN="1", DATA=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert stages(done.stdout) == list(range(1, count + 1))
    assert f"+ python -m {MAKES[name][0]} --out {tmp_path / 'data'}" in done.stdout
    assert "+ python -m nsml run -d " in done.stdout
    assert not (tmp_path / "data").exists() and not (tmp_path / "home").exists()  # nothing ran


def test_the_fine_tuning_table_trains_from_scratch_and_from_the_shipped_model_on_one_budget(tmp_path):
    done = recipe("finetune_korean.sh", tmp_path, DRY_RUN="1", DATA=str(tmp_path / "data"), MINUTES="2")
    assert done.returncode == 0, done.stderr
    runs = [line for line in done.stdout.splitlines() if line.startswith("+ python -m nsml run -d ko_finetune ")]
    assert len(runs) == 2 and all("--max_minutes 2 " in line for line in runs)
    assert "--init pretrained/korean " in runs[1] and "--init" not in runs[0] and "--units jamo" in runs[0]
    assert "--conv_channels 16 --lr 1.5e-3 " in runs[0]  # every flag of the row, not its first line only
    assert "+ python -m evaluation.transcribe --checkpoint pretrained/korean " in done.stdout  # the shipped row


def test_stage_and_stop_stage_select_the_stages_between(tmp_path):
    done = recipe("korean.sh", tmp_path, DRY_RUN="1", STAGE="2", STOP_STAGE="3", DATA=str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert stages(done.stdout) == [2, 3]
    assert "corpus.make_dataset" not in done.stdout and "evaluation.transcribe" not in done.stdout
    # the export stage exports the session the train stage of the same run started
    assert "+ python -m nsml model pull USER/ko_synth/N best pretrained/korean.tmp" in done.stdout
    assert "--batch_frames 6000 " in done.stdout and "--nproc 2 " in done.stdout  # 12,000 frames a step, 2 processes
    single = recipe("korean.sh", tmp_path, DRY_RUN="1", STAGE="2", STOP_STAGE="2", NPROC="1")
    assert "--batch_frames 12000 " in single.stdout and "--nproc 1 " in single.stdout
    russian = recipe("russian.sh", tmp_path, DRY_RUN="1", STAGE="3", STOP_STAGE="3", DATA=str(tmp_path / "data"))
    assert (f"+ python -m ru_numbers.tune ru_numbers/states/words {tmp_path / 'data'}/dev_espeak/train.csv "
            f"{tmp_path / 'data'}/dev_festival/train.csv") in russian.stdout  # chosen on development sets only
    only_measure = recipe("russian.sh", tmp_path, DRY_RUN="1", STAGE="4", DATA=str(tmp_path / "data"))
    assert stages(only_measure.stdout) == [4]
    assert "+ python -m ru_numbers.evaluate --states ru_numbers/states/words" in only_measure.stdout


@pytest.mark.parametrize("name", sorted(MAKES))
@pytest.mark.parametrize("force", ["0", "1"])
def test_the_data_stage_keeps_data_already_present_unless_forced(name, force, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    command, files = MAKES[name]
    for file in files:
        (data / file).parent.mkdir(parents=True, exist_ok=True)
        (data / file).write_text("made before\n")
    done = recipe(name, tmp_path, DRY_RUN="1", STAGE="1", STOP_STAGE="1", FORCE_DATA=force, DATA=str(data))
    assert done.returncode == 0, done.stderr
    assert stages(done.stdout) == [1]
    for file in files:
        kept = f"{data / file} present: kept, not made again (FORCE_DATA=1 to make it again)"
        assert (kept in done.stdout) == (force == "0")
    assert done.stdout.count(f"+ python -m {command} --out {data}") == (len(files) if force == "1" else 0)
    assert "nsml dataset add" in done.stdout  # registered either way


@pytest.mark.parametrize(("settings", "message"), [
    ({"STAGE": "two"}, "STAGE and STOP_STAGE must be stage numbers, got 'two'"),
    ({"STAGE": "3", "STOP_STAGE": "2"}, "STAGE=3 comes after STOP_STAGE=2: no stage selected"),
])
def test_a_bad_stage_selection_is_refused(settings, message, tmp_path):
    done = recipe("russian.sh", tmp_path, DRY_RUN="1", **settings)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"russian.sh: error: {message}"


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="the Russian data is spoken by espeak-ng and sox")
def test_the_russian_data_stage_run_for_real_joins_and_registers_the_data_it_keeps(tmp_path):
    data = tmp_path / "ru"
    for seed, file in enumerate(RUSSIAN_SETS, 3):  # 27 espeak-ng utterances each: the generator's least
        folder = (data / file).parent
        generate(folder, "--split", Path(file).stem, "--count", "27", "--seed", str(seed), "--jobs", "2")
    made = {file: (data / file).stat().st_mtime_ns for file in RUSSIAN_SETS}
    venv = fake_virtualenv(tmp_path / "venv")  # install.sh finds everything installed in this interpreter's env
    done = recipe("russian.sh", tmp_path, STAGE="1", STOP_STAGE="1", DATA=str(data), VIRTUAL_ENV=str(venv),
                  PYTHON=str(venv / "bin" / "python"))
    assert done.returncode == 0, done.stderr
    assert stages(done.stdout) == [1]
    assert done.stdout.count("present: kept, not made again") == len(RUSSIAN_SETS)
    assert {file: (data / file).stat().st_mtime_ns for file in made} == made  # nothing made again
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "nsml", "dataset", "ls"], cwd=ROOT,
                            env=dict(os.environ, NSML_HOME=str(tmp_path / "home")), capture_output=True, text=True)
    # the five training sets joined (5 x 27), the held-out Festival set as its test side
    assert re.search(rf"^ru_numbers\s+{re.escape(str(data / 'mix'))}\s+135\s+27\s+exact", listed.stdout,
                     re.MULTILINE), listed.stdout
    assert not (tmp_path / "home" / "sessions").exists() or not any((tmp_path / "home" / "sessions").iterdir())

    # the export stage on its own exports the newest finished session on the dataset: here there is none
    alone = recipe("russian.sh", tmp_path, STAGE="3", STOP_STAGE="3", DATA=str(data), VIRTUAL_ENV=str(venv),
                   PYTHON=str(venv / "bin" / "python"))
    assert alone.returncode == 2 and stages(alone.stdout) == [3]
    assert alone.stderr.strip().endswith("russian.sh: error: no finished session on dataset ru_numbers: run the "
                                         "train stage first, or give RECIPE_SESSION=USER/ru_numbers/N"), alone.stderr


def test_the_augmentation_comparison_gives_every_configuration_the_same_budget(tmp_path):
    done = recipe("russian_augment.sh", tmp_path, DRY_RUN="1", DATA=str(tmp_path / "data"), COUNT="400", EPOCHS="2")
    assert done.returncode == 0, done.stderr
    assert stages(done.stdout) == [1, 2, 3]
    trains = [line for line in done.stdout.splitlines() if line.startswith("+ python -m ru_numbers.train ")]
    assert len(trains) == 7 and all("--max_epochs 2 " in line and "--init ru_numbers/states/words" in line
                                    for line in trains)
    assert [("--vtlp 0.1" in line) for line in trains] == [False] * 6 + [True]  # the warp only where it is the row
    subsets = re.findall(r"ru_numbers\.subset \S+ \S+ --count (\d+)", done.stdout)
    assert [int(n) for n in subsets] == [400] * 5 + [300, 100] + [400]  # pitch_free: three quarters pool, a quarter
    # its own; vtlp: the whole pool, as reverb
    assert "ru_numbers.report_table" in done.stdout
    unknown = recipe("russian_augment.sh", tmp_path, DRY_RUN="1", CONFIGS="espeak wobble")
    assert "unknown configuration 'wobble'" in unknown.stderr


def test_the_russian_train_stage_is_one_session_unless_told_to_continue_from_its_best(tmp_path):
    data = tmp_path / "data"
    alone = recipe("russian.sh", tmp_path, DRY_RUN="1", STAGE="2", STOP_STAGE="2", DATA=str(data))
    assert alone.returncode == 0, alone.stderr
    runs = [line for line in alone.stdout.splitlines() if line.startswith("+ python -m nsml run -d ru_numbers ")]
    assert len(runs) == 1 and "model pull" not in alone.stdout and "--init" not in runs[0]
    assert "--conv_kernels 21x11,11x11 --conv_time_strides 2,3 " in runs[0] and "--max_epochs 11 " in runs[0]
    assert "--spec_augment --time_mask_width 10 " in runs[0]
    done = recipe("russian.sh", tmp_path, DRY_RUN="1", STAGE="2", STOP_STAGE="2", DATA=str(data), FINETUNE="1")
    assert done.returncode == 0, done.stderr
    runs = [line for line in done.stdout.splitlines() if line.startswith("+ python -m nsml run -d ru_numbers ")]
    assert len(runs) == 2 and "--init" not in runs[0]
    # the second session: the first one's best weights, 2 epochs at a lower rate (later flags win in argparse)
    assert f"+ python -m nsml model pull USER/ru_numbers/N best {data}/shipped/first" in done.stdout
    assert f"--max_epochs 2 --lr 5e-4 --warmup_steps 50 --init {data}/shipped/first " in runs[1]
