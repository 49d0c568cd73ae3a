"""The Python API 2019 code calls (bind/save/load/report/paused/infer), in-process outside any session."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from support import ROOT

import nsml
from nsml import checkpoints
from nsml.store import Store


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Outside a session, with checkpoints under tmp_path/ckpt and a model bound that saves/loads a dict."""
    for var in [v for v in os.environ if v.startswith("NSML_") or v == "RANK"]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("NSML_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    yield tmp_path / "ckpt"
    nsml.bind()


def bind_dict(model: dict, loaded: list) -> None:
    def save(path: str, **kwargs) -> None:
        Path(path, "model.json").write_text(json.dumps(model))

    def load(path: str, **kwargs) -> None:
        loaded.append(json.loads(Path(path, "model.json").read_text()))

    nsml.bind(save, load, lambda wav: f"heard {Path(wav).name}")


def test_import_is_cheap_and_constants_come_from_the_environment(tmp_path: Path) -> None:
    code = ("import sys, nsml; from nsml.constants import DATASET_PATH; "
            "print(DATASET_PATH, nsml.DATASET_NAME, nsml.HAS_DATASET, nsml.GPU_NUM, nsml.IS_ON_NSML, "
            "nsml.SESSION_NAME, 'torch' in sys.modules, 'matplotlib' in sys.modules)")
    bare = {k: v for k, v in os.environ.items() if not k.startswith("NSML_")}
    bare["PYTHONPATH"] = str(ROOT)

    def run(env: dict[str, str]) -> list[str]:
        return subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                              check=True).stdout.split()

    assert run(bare) == ["None", "None", "False", "0", "False", "None", "False", "False"]
    inside = dict(bare, NSML_DATASET_PATH="/data/x", NSML_DATASET_NAME="x", NSML_GPU_NUM="2", NSML_SESSION="u/x/3")
    assert run(inside) == ["/data/x", "x", "True", "2", "True", "u/x/3", "False", "False"]


def test_save_and_load_outside_a_session(local: Path) -> None:
    model, loaded = {"w": 1}, []
    bind_dict(model, loaded)
    nsml.save(1)
    model["w"] = 2
    nsml.save(iteration="best")  # the legacy keyword
    model["w"] = 3
    nsml.save("best")  # the same name again replaces it
    assert checkpoints.names(local) == ["1", "best"]
    assert (local / "best").is_symlink()
    nsml.load(1)
    nsml.load("best")
    assert loaded == [{"w": 1}, {"w": 3}]
    assert len(list((local / checkpoints.VERSIONS).iterdir())) == 2  # the replaced version is gone
    assert nsml.infer("/x/a.wav") == "heard a.wav"
    with pytest.raises(LookupError, match=r"no checkpoint 'nope' .*checkpoints: 1, best"):
        nsml.load("nope")


def test_a_failing_save_leaves_the_previous_checkpoint(local: Path) -> None:
    model, loaded = {"w": 1}, []
    bind_dict(model, loaded)
    nsml.save("best")

    def broken_save(path: str) -> None:
        Path(path, "model.json").write_text("{half")
        raise OSError("disk full")

    nsml.bind(broken_save, loaded.append)
    with pytest.raises(OSError, match="disk full"):
        nsml.save("best")
    with pytest.raises(OSError):
        nsml.save("new")
    assert checkpoints.names(local) == ["best"]
    assert json.loads((local / "best" / "model.json").read_text()) == {"w": 1}
    assert list((local / checkpoints.PENDING).iterdir()) == []


def test_leftovers_of_a_killed_save_are_swept(local: Path) -> None:
    model, loaded = {"w": 1}, []
    bind_dict(model, loaded)
    nsml.save("best")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a pid that no longer runs
    (local / checkpoints.PENDING / f"best.{dead}.abcd").mkdir()
    (local / checkpoints.VERSIONS / f"old.{dead}.abcd").mkdir()
    nsml.save("best")
    assert list((local / checkpoints.PENDING).iterdir()) == []
    assert [p.name for p in (local / checkpoints.VERSIONS).iterdir()] == [os.readlink(local / "best").split("/")[-1]]


def test_report_records_numbers_and_names_a_bad_value(local: Path) -> None:
    nsml.report(False, step=1, train__loss=1.5, eval__cer=np.float32(0.25))
    nsml.report(summary=True, step=torch.tensor(2), eval__cer=torch.tensor(0.125), loss=math.nan)
    with pytest.raises(TypeError, match="eval__cer"):
        nsml.report(step=3, eval__cer="0.1")
    with pytest.raises(TypeError, match="train__loss"):
        nsml.report(step=3, train__loss=torch.ones(2))
    store = Store(local / "nsml.sqlite")
    rows = [(m.step, m.key, m.value, m.summary) for m in store.metrics("local")]
    assert rows == [(1, "train__loss", 1.5, 0), (1, "eval__cer", 0.25, 0), (2, "eval__cer", 0.125, 1),
                    (2, "loss", None, 1)]
    assert store.latest_metrics("local", summary_only=True)["eval__cer"] == 0.125


def test_checkpoint_summary_is_the_latest_report_at_save_time(local: Path) -> None:
    bind_dict({}, [])
    nsml.report(step=1, eval__loss=2.0)
    nsml.save(1)
    nsml.report(step=2, eval__loss=1.0)
    nsml.save(2)
    assert Store(local / "nsml.sqlite").checkpoint_summaries("local") == {"1": {"eval__loss": 2.0},
                                                                          "2": {"eval__loss": 1.0}}


def test_other_ranks_neither_save_nor_report(local: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bind_dict({}, [])
    monkeypatch.setenv("RANK", "1")
    nsml.save("best")
    nsml.report(step=1, loss=1.0)
    assert not local.exists()
    monkeypatch.setenv("RANK", "0")
    nsml.save("best")
    assert checkpoints.names(local) == ["best"]


def test_paused_returns_at_once_when_not_paused_and_save_needs_a_bind(local: Path) -> None:
    nsml.bind()
    nsml.paused(scope=locals())
    with pytest.raises(RuntimeError, match="nsml.bind"):
        nsml.save("best")
    with pytest.raises(ValueError, match="invalid checkpoint name"):
        bind_dict({}, [])
        nsml.save("../escape")


def test_the_database_is_in_wal_mode(local: Path) -> None:
    nsml.report(step=1, loss=1.0)
    with sqlite3.connect(local / "nsml.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
