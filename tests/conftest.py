"""Shared fixtures: real wav files written with soundfile, and a tiny dataset in the hackathon layout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from support import ROOT, write_tone

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from label_loader import Vocab  # noqa: E402
from nsml_support import TOY_ENTRY, make_dataset, nsml_cli  # noqa: E402


@pytest.fixture
def vocab() -> Vocab:
    return Vocab.from_file(ROOT / "hackathon.labels")


@pytest.fixture
def tiny_dataset(tmp_path: Path, vocab: Vocab) -> Path:
    """Six training and two test utterances: tones with Korean transcripts from our label table."""
    root = tmp_path / "tiny"
    train_dir = root / "train" / "train_data"
    test_dir = root / "test" / "test_data"
    train_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    texts = ["안녕하세요", "네 괜찮습니다", "감사합니다", "예약 부탁드려요", "잠시만요", "네 맞습니다"]
    with open(train_dir / "data_list.csv", "w") as lst, open(root / "train" / "train_label", "w") as lab:
        for i, text in enumerate(texts):
            write_tone(train_dir / f"wav_{i:03d}.wav", 0.4 + 0.1 * i, freq=200 + 100 * i, seed=i)
            lst.write(f"wav_{i:03d}.wav,wav_{i:03d}.label\n")
            lab.write(f"wav_{i:03d}," + " ".join(map(str, vocab.encode(text))) + "\n")
    with open(test_dir / "test_list.csv", "w") as lst, open(root / "test" / "test_label", "w") as lab:
        for i, text in enumerate(texts[:2]):
            write_tone(test_dir / f"test_{i:03d}.wav", 0.5, freq=300 + 100 * i, seed=10 + i)
            lst.write(f"test_{i:03d}.wav,test_{i:03d}.label\n")
            lab.write(f"test_{i:03d},{text}\n")
    return root


# The nsml tests' fixtures: a private NSML_HOME, the toy dataset, a user's project folder.
@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of every nsml command in a test: a private NSML_HOME and a fixed user."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("NSML_") and k not in ("RANK", "WORLD_SIZE")}
    python_path = os.pathsep.join([str(ROOT)] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else []))
    return dict(base, NSML_HOME=str(tmp_path / "home"), NSML_USER="tester", PYTHONPATH=python_path)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """The toy dataset of the nsml tests (see nsml_support)."""
    return make_dataset(tmp_path / "toy_data")


@pytest.fixture
def project(tmp_path: Path, env: dict[str, str], dataset: Path) -> Path:
    """A user's code folder with the toy entry, a file .nsmlignore excludes, and the dataset registered as 'toy'."""
    code = tmp_path / "project"
    (code / "data").mkdir(parents=True)
    (code / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
    (code / "notes.txt").write_text("kept\n")
    (code / "weights.pt").write_bytes(b"\0" * 100)
    (code / "data" / "big.bin").write_bytes(b"\0" * 100)
    (code / ".nsmlignore").write_text("# local junk\n*.pt\ndata/\n")
    nsml_cli(env, "dataset", "add", "toy", str(dataset), cwd=code)
    return code


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL on 127.0.0.1, run as an unprivileged user, shared by the tests of a run
    (see postgres_support); skipped, with the install command, where PostgreSQL is not installed."""
    from postgres_support import Postgres, missing

    reason = missing()
    if reason:
        pytest.skip(reason)
    server = Postgres().start()
    yield server
    server.stop()
