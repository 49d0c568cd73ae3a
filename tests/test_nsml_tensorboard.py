"""TensorBoard event files written by ``nsml.report``: read back the way ``tensorboard --logdir`` reads them.

The toy session reports ``train__loss = 1 / epoch``, ``eval__loss = 1.5 / epoch``, ``train__cer``, ``eval__cer`` and
``epoch`` at steps 1..N; its resolved arguments are written as hyperparameters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT
from nsml_support import nsml_cli

from nsml.store import Store
from nsml.tensorboard_events import MISSING_NOTICE, hparams, scalar_tag

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the tensorboard package is not installed (pip install tensorboard)")


def test_tags_put_the_family_first_and_arguments_become_hyperparameters() -> None:
    assert scalar_tag("train__loss") == "loss/train"
    assert scalar_tag("train_step__cer") == "cer/train_step"
    assert scalar_tag("epoch") == "epoch"
    recorded = {"--lr": 0.001, "--use_attention": True, "--labels": None, "--sizes": [3, 4], "input": "a.wav"}
    assert hparams(recorded, "--lr 1e-3") == {"lr": 0.001, "use_attention": True, "sizes": "3 4", "input": "a.wav"}
    assert hparams(None, "--lr 1e-3 --fast") == {"args": "--lr 1e-3 --fast"}  # an entry without argparse


def test_a_session_writes_scalars_and_hyperparameters_tensorboard_reads(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3 --use_attention", cwd=project)
    sessions = Path(env["NSML_HOME"]) / "sessions"
    folder = sessions / "tester" / "toy" / "1"
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1  # one writer for the whole run

    events = event_accumulator.EventAccumulator(str(folder))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["cer/eval", "cer/train", "epoch", "loss/eval", "loss/train"]
    assert [(e.step, round(e.value, 4)) for e in events.Scalars("loss/eval")] == [(1, 1.5), (2, 0.75), (3, 0.5)]
    assert [(e.step, e.value) for e in events.Scalars("epoch")] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    walls = [e.wall_time for e in events.Scalars("loss/train")]
    recorded = [m.wall for m in Store(Path(env["NSML_HOME"]) / "nsml.sqlite").metrics("tester/toy/1")
                if m.key == "train__loss"]
    assert walls == pytest.approx(recorded)  # the same moments as the records

    from tensorboard.plugins.hparams import metadata
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    start = metadata.parse_session_start_info_plugin_data(content)
    assert start.hparams["epochs"].number_value == 3
    assert start.hparams["use_attention"].bool_value is True
    assert start.hparams["mode"].string_value == "train"

    # tensorboard --logdir $NSML_HOME/sessions: one run per session, named after it
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
    runs = EventMultiplexer().AddRunsFromDirectory(str(sessions))
    runs.Reload()
    assert list(runs.Runs()) == ["tester/toy/1"]


def _report_outside_a_session(tmp_path: Path, prelude: str) -> subprocess.CompletedProcess:
    code = (f"{prelude}\nimport nsml\n"
            "nsml.report(step=1, train__loss=1.0)\nnsml.report(step=2, train__loss=0.5)\nnsml.report(acc=0.7)\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "NSML_CHECKPOINT_DIR": str(tmp_path / "ckpt")}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def test_outside_a_session_events_go_to_the_checkpoint_root(tmp_path: Path) -> None:
    done = _report_outside_a_session(tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    events = event_accumulator.EventAccumulator(str(tmp_path / "ckpt"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss/train")] == [(1, 1.0), (2, 0.5)]
    assert [e.step for e in events.Scalars("acc")] == [1]  # no step=: the key's report count


def test_without_tensorboard_a_run_goes_on_after_one_notice(tmp_path: Path) -> None:
    # the package made unimportable, as on a machine that never installed it
    done = _report_outside_a_session(tmp_path, "import sys; sys.modules['tensorboard'] = None")
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stderr.splitlines() if line]
    assert len(notices) == 1, done.stderr
    assert notices[0].startswith(MISSING_NOTICE.split("{")[0]) and "pip install tensorboard" in notices[0]
    assert [(m.key, m.value) for m in Store(tmp_path / "ckpt" / "nsml.sqlite").metrics("local")] == [
        ("train__loss", 1.0), ("train__loss", 0.5), ("acc", 0.7)]
    assert list((tmp_path / "ckpt").glob("events.out.tfevents.*")) == []
