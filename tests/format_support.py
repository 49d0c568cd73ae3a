"""Shared pieces of the format tests: files as other tools save them, and a dataset in the exact 2019 layout.

Kept out of conftest.py so tests import what they use by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from support import ROOT

BOM = "\ufeff"
SAMPLE = ROOT / "sample_dataset"


def write_with_bom(path: Path, text: str) -> Path:
    """``text`` as a Windows editor saves "UTF-8": with a byte order mark in front."""
    path.write_text(BOM + text, encoding="utf-8")
    return path


def write_cp949(path: Path, text: str) -> Path:
    """``text`` as a Korean Windows editor saves it by default (cp949, a superset of euc-kr)."""
    path.write_bytes(text.encode("cp949"))
    return path


def make_2019_dataset(root: Path, train: int = 4, test: int = 2) -> Path:
    """The first ``train``/``test`` sample_dataset utterances laid out exactly as the 2019 platform shipped them.

    ``train/train_data/data_list.csv`` holds ``<name>.wav,<name>.label`` lines, ``train/train_label`` label ids,
    ``test/test_data/test_list.csv`` one wav file name per line, ``test/test_label`` ``<name>,<text>`` lines.
    """
    for split, count, label_name in (("train", train, "train_label"), ("test", test, "test_label")):
        source, target = SAMPLE / split, root / split
        (target / f"{split}_data").mkdir(parents=True)
        labels = (source / label_name).read_text(encoding="utf-8").splitlines()[:count]
        names = [line.split(",", 1)[0] for line in labels]
        for name in names:
            shutil.copyfile(source / f"{split}_data" / f"{name}.wav", target / f"{split}_data" / f"{name}.wav")
        listing = [f"{name}.wav,{name}.label" if split == "train" else f"{name}.wav" for name in names]
        list_name = "data_list.csv" if split == "train" else "test_list.csv"
        (target / f"{split}_data" / list_name).write_text("".join(f"{line}\n" for line in listing), encoding="utf-8")
        (target / label_name).write_text("".join(f"{line}\n" for line in labels), encoding="utf-8")
    return root
