"""``nsml dataset ls/add/pull`` and the bundled sample_dataset (``dataset board`` is tested with submit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from nsml_support import TEST, TRAIN, nsml_cli


def test_dataset_ls_add_pull(env, dataset, tmp_path: Path) -> None:
    listed = nsml_cli(env, "dataset", "ls").stdout.splitlines()
    assert listed[0].split() == ["DATASET", "PATH", "TRAIN", "TEST"]
    assert listed[1].split()[:2] == ["sample_dataset", str(ROOT / "sample_dataset")]  # bundled, out of the box

    added = nsml_cli(env, "dataset", "add", "toy", str(dataset))
    assert f"dataset toy -> {dataset} ({len(TRAIN)} train, {len(TEST)} test utterances)" in added.stderr
    row = next(line for line in nsml_cli(env, "dataset", "ls").stdout.splitlines() if line.startswith("toy"))
    assert row.split() == ["toy", str(dataset), str(len(TRAIN)), str(len(TEST))]

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
