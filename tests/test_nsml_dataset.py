"""``nsml dataset ls/add/pull`` and the bundled sample_dataset (``dataset board`` is tested with submit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT
from nsml_support import TEST, TRAIN, make_dataset, nsml_cli


def test_dataset_ls_add_pull(env, dataset, tmp_path: Path) -> None:
    listed = nsml_cli(env, "dataset", "ls").stdout.splitlines()
    assert listed[0].split() == ["DATASET", "PATH", "TRAIN", "TEST", "SCORER", "TEST", "SET"]
    assert listed[1].split()[:2] == ["sample_dataset", str(ROOT / "sample_dataset")]  # bundled, out of the box

    added = nsml_cli(env, "dataset", "add", "toy", str(dataset))
    assert f"dataset toy -> {dataset} ({len(TRAIN)} train, {len(TEST)} test utterances, scorer crr" in added.stderr
    row = next(line for line in nsml_cli(env, "dataset", "ls").stdout.splitlines() if line.startswith("toy"))
    assert row.split()[:5] == ["toy", str(dataset), str(len(TRAIN)), str(len(TEST)), "crr"]
    assert len(row.split()[5]) == 12  # the test set's fingerprint

    pulled = Path(nsml_cli(env, "dataset", "pull", "toy", str(tmp_path / "copy")).stdout.strip())
    assert sorted(p.relative_to(pulled) for p in pulled.rglob("*")) == \
        sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    again = nsml_cli(env, "dataset", "pull", "toy", str(tmp_path / "copy"), check=False)  # into it: copy/toy
    assert again.returncode == 0 and (tmp_path / "copy" / "toy" / "test" / "test_label").is_file()


@pytest.mark.parametrize("missing", ["train/train_label", "test/test_data/test_list.csv",
                                     "train/train_data/train_02.wav"])
def test_dataset_add_names_the_missing_file(env, dataset, missing: str) -> None:
    (dataset / missing).unlink()
    result = nsml_cli(env, "dataset", "add", "broken", str(dataset), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and str(dataset / missing) in result.stderr
    assert "broken" not in nsml_cli(env, "dataset", "ls").stdout


def test_a_dataset_name_is_not_silently_replaced(env, dataset, tmp_path: Path) -> None:
    nsml_cli(env, "dataset", "add", "toy", str(dataset))
    other = make_dataset(tmp_path / "other")
    refused = nsml_cli(env, "dataset", "add", "toy", str(other), check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith(f"nsml: error: dataset 'toy' already exists ({dataset}); ")
    assert "--force" in refused.stderr
    bundled = nsml_cli(env, "dataset", "add", "sample_dataset", str(other), check=False)
    assert bundled.returncode == 2 and "already exists" in bundled.stderr
    nsml_cli(env, "dataset", "add", "toy", str(other), "--force")
    listed = {line.split()[0]: line.split()[1] for line in nsml_cli(env, "dataset", "ls").stdout.splitlines()}
    assert listed["toy"] == str(other)

    removed = nsml_cli(env, "dataset", "rm", "toy")
    assert f"removed dataset toy; its folder {other} is untouched" in removed.stderr and other.is_dir()
    assert [line.split()[0] for line in nsml_cli(env, "dataset", "ls").stdout.splitlines()] == ["DATASET",
                                                                                               "sample_dataset"]
    assert nsml_cli(env, "dataset", "rm", "toy", check=False).returncode == 2
    kept = nsml_cli(env, "dataset", "rm", "sample_dataset", check=False)
    assert kept.returncode == 2 and "bundled with the kit" in kept.stderr


def test_boards_never_rank_different_test_sets_together(env, project, dataset, tmp_path: Path) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=project)
    nsml_cli(env, "submit", "tester/toy/1", "best")  # CRR 78.57 on the original test set
    # the organisers fix two test transcripts: the same toy dataset name now has another test set
    fixed = make_dataset(tmp_path / "fixed")
    label = fixed / "test" / "test_label"
    label.write_text(label.read_text(encoding="utf-8").replace("감사해요", "감사합니다").replace(
        "괜찮아요", "괜찮습니다"), encoding="utf-8")
    nsml_cli(env, "dataset", "add", "toy", str(fixed), "--force")
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2", cwd=project)
    nsml_cli(env, "submit", "tester/toy/2", "best")  # epoch 2 knows two lengths: 20 of 30 characters right

    lines = nsml_cli(env, "dataset", "board", "toy").stdout.splitlines()
    sections = "\n".join(lines).split("\n\n")
    assert len(sections) == 2
    newest, older = (section.splitlines() for section in sections)
    assert newest[0].startswith("test set ") and "(current), scorer crr, 1 submission(s)" in newest[0]
    assert newest[2].split()[:4] == ["1", "tester/toy/2", "best", "66.67"]
    assert "(no longer the dataset test set)" in older[0]
    assert older[2].split()[:4] == ["1", "tester/toy/1", "best", "78.57"]  # rank 1 of its own test set

    compared = nsml_cli(env, "compare", "tester/toy/*")
    warnings = compared.stderr.splitlines()
    assert len(warnings) == 2
    assert warnings[0].startswith("nsml: warning: sessions of dataset toy started with different test sets: ")
    assert warnings[1].startswith("nsml: warning: the best scores were measured on different test sets: ")

    nsml_cli(env, "dataset", "add", "toy2", str(dataset))
    nsml_cli(env, "run", "-d", "toy2", "-a", "--epochs 1", cwd=project)
    other = nsml_cli(env, "compare", "tester/toy/1", "tester/toy2/1").stderr
    assert "nsml: warning: the sessions ran on different datasets: toy (tester/toy/1); toy2 (tester/toy2/1)" in other
