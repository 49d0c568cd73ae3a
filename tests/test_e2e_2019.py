"""End to end on the 2019 platform's own formats: a dataset laid out exactly as NAVER shipped it, and a 2019 entry
that carries its own ``evaluation`` package in the snapshot (which the platform must not import)."""

from __future__ import annotations

from format_support import ROOT, make_2019_dataset
from nsml_support import TOY_ENTRY, make_dataset, nsml_cli

TINY = "--hidden_size 32 --layer_size 1 --batch_size 4 --workers 1 --use_attention --max_len 10 --max_epochs 1"

# What a 2019 snapshot held beside main.py: the platform's evaluation helpers of the time, with the old signature
# and none of this kit's modules (no evaluation.metrics, no evaluation.score).
EVALUATION_INIT_2019 = "# the 2019 platform's evaluation package, as shipped in a user's snapshot\n"
DATA_LOADER_2019 = '''
import os

from nsml import DATASET_PATH


def feed_infer(output_file, infer_func):
    folder = os.path.join(DATASET_PATH, "test", "test_data")
    with open(os.path.join(folder, "test_list.csv")) as names, open(output_file, "w") as out:
        for line in names:
            name = line.strip()
            out.write(name + "," + infer_func(os.path.join(folder, name)) + "\\n")
'''


def board(env: dict[str, str], dataset: str) -> str:
    return nsml_cli(env, "dataset", "board", dataset).stdout


def test_the_baseline_trains_and_submits_on_a_dataset_in_the_2019_layout(env, tmp_path):
    data = make_2019_dataset(tmp_path / "hack2019", train=6, test=3)
    assert "," not in (data / "test/test_data/test_list.csv").read_text(encoding="utf-8")
    nsml_cli(env, "dataset", "add", "hack2019", str(data), cwd=tmp_path)
    run = nsml_cli(env, "run", "-d", "hack2019", "-e", "main.py", "-a", TINY, cwd=ROOT, timeout=300)
    name = "tester/hack2019/1"
    assert f"session {name} done" in run.stdout + run.stderr
    submitted = nsml_cli(env, "submit", name, "best", cwd=ROOT, timeout=300)
    assert "CRR" in submitted.stdout and "3 utterances" in submitted.stdout
    assert "recorded on the board of hack2019" in submitted.stdout
    rows = [line.split() for line in board(env, "hack2019").splitlines() if name in line]
    assert len(rows) == 1 and rows[0][:3] == ["1", name, "best"]


def test_a_2019_entry_with_its_own_evaluation_package_is_scored_by_the_platform(env, tmp_path):
    data = make_dataset(tmp_path / "toy_data")
    test_list = data / "test/test_data/test_list.csv"
    test_list.write_text("".join(line.split(",")[0] + "\n" for line in test_list.read_text().splitlines()))
    code = tmp_path / "entry"
    (code / "evaluation").mkdir(parents=True)
    (code / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
    (code / "evaluation" / "__init__.py").write_text(EVALUATION_INIT_2019, encoding="utf-8")
    (code / "evaluation" / "data_loader.py").write_text(DATA_LOADER_2019, encoding="utf-8")
    nsml_cli(env, "dataset", "add", "toy", str(data), cwd=code)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=code)
    # run from the entry's folder, as a 2019 user did: its evaluation/ is first on sys.path there
    submitted = nsml_cli(env, "submit", "tester/toy/1", "best", cwd=code, check=False)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "CRR 78.57" in submitted.stdout  # the toy's known predictions: 6 edits over 28 characters
    assert "tester/toy/1" in board(env, "toy")


def test_the_2019_layout_helper_writes_what_the_platform_shipped(tmp_path):
    data = make_2019_dataset(tmp_path / "d", train=2, test=2)
    assert (data / "train/train_data/data_list.csv").read_text() == "train_0001.wav,train_0001.label\n" \
                                                                     "train_0002.wav,train_0002.label\n"
    assert (data / "test/test_data/test_list.csv").read_text() == "test_0001.wav\ntest_0002.wav\n"
    first_label = (data / "train/train_label").read_text(encoding="utf-8").splitlines()[0]
    assert first_label.startswith("train_0001,") and all(i.isdigit() for i in first_label.split(",")[1].split())
    assert sorted(p.name for p in (data / "test/test_data").iterdir()) == ["test_0001.wav", "test_0002.wav",
                                                                           "test_list.csv"]
