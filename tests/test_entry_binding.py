"""The entries' one binding (``entry``): save and load round trips, a fork's learning rate, the finiteness guard and
the sidecar files, through the real Korean (``main.py``) and Russian (``ru_numbers/train.py``) entries."""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pytest
import torch

import main as korean
import nsml
from entry import SPEECH, Binding, EpochReporter, LanguageModelSlot, Metric
from models import ModelConfig, build_model, check_compatible, load_checkpoint, save_checkpoint
from models.lm import LM_FILE, NgramLM
from nsml.constants import ENV_CHECKPOINT_DIR, ENV_PAUSED, ENV_PAUSED_CHECKPOINT, ENV_SESSION
from nsml.store import Store
from ru_numbers import train as russian
from ru_numbers.gender import PitchGender, write_rule
from ru_numbers.recognizer import TASK_FILE
from speech_kit.finite import NonFiniteModel
from speech_kit.train import EpochReport, TrainState

ENTRIES = {
    "korean": (korean.main, ["--hidden_size", "16", "--layer_size", "1", "--use_attention"]),
    "russian": (russian.main, ["--hidden_size", "16", "--layer_size", "1", "--precision", "fp32"]),
}
PARENT_LR, FORK_LR = 2e-3, 5e-4
PARENT_STATE = {"epoch": 3, "step": 30, "best_loss": 1.5}


@pytest.fixture
def checkpoints(tmp_path, monkeypatch) -> Path:
    """nsml.save outside a session writes to this folder."""
    for name in (ENV_SESSION, ENV_PAUSED, ENV_PAUSED_CHECKPOINT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_CHECKPOINT_DIR, str(tmp_path / "ckpt"))
    return tmp_path / "ckpt"


def stepped(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """An Adam optimizer with moments: one real step on the weights' squared sum."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    sum((p ** 2).sum() for p in model.parameters()).backward()
    optimizer.step()
    return optimizer


def optimizer_tensors(state: dict) -> list[torch.Tensor]:
    return [t for moments in state["state"].values() for t in moments.values() if torch.is_tensor(t)]


def make_parent(entry: str, checkpoints: Path, poison: bool = False) -> Path:
    """A checkpoint as the entry would resume it: the entry's own model (saved by the entry), trained one step, at
    epoch 3, with its sidecar (the Korean n-gram LM, the Russian pitch rule). ``poison``: one weight NaN."""
    run, flags = ENTRIES[entry]
    assert run([*flags, "--mode", "test", "--lr", str(PARENT_LR)]) == 0
    nsml.save("fresh")
    fresh = load_checkpoint(checkpoints / "fresh")
    model = fresh.build().train()
    optimizer = stepped(model, PARENT_LR)
    if poison:
        with torch.no_grad():
            next(model.parameters()).view(-1)[0] = float("nan")
    parent = checkpoints.parent / f"parent_{entry}"
    shutil.copytree(checkpoints / "fresh", parent)  # keeps the Russian task.json
    save_checkpoint(parent, model, fresh.config, fresh.vocab, optimizer, PARENT_STATE, fresh.features, fresh.units)
    if entry == "korean":
        NgramLM.train(["안녕하세요", "감사합니다"], 3).save(parent / LM_FILE)
    else:
        write_rule(parent / TASK_FILE, PitchGender(170.0))
    return parent


def fork(entry: str, parent: Path, monkeypatch) -> None:
    """What ``nsml fork`` starts: the entry with ``--pause 1``, this run's ``--lr``; it loads the parent and returns."""
    monkeypatch.setenv(ENV_PAUSED, "fork")
    monkeypatch.setenv(ENV_PAUSED_CHECKPOINT, str(parent))
    run, flags = ENTRIES[entry]
    assert run([*flags, "--mode", "test", "--pause", "1", "--lr", str(FORK_LR)]) == 0
    monkeypatch.delenv(ENV_PAUSED)


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_fork_resumes_the_parent_with_this_runs_learning_rate(entry, checkpoints, monkeypatch):
    parent = make_parent(entry, checkpoints)
    fork(entry, parent, monkeypatch)
    nsml.save("child")  # what the fork's first epoch saves: the state the entry holds after loading
    before, after = load_checkpoint(parent), load_checkpoint(checkpoints / "child")
    assert all(torch.equal(before.model_state[k], after.model_state[k]) for k in before.model_state)
    assert all(torch.equal(a, b) for a, b in zip(optimizer_tensors(before.optimizer_state),
                                                 optimizer_tensors(after.optimizer_state), strict=True))
    assert after.train_state == PARENT_STATE
    assert [g["lr"] for g in before.optimizer_state["param_groups"]] == [PARENT_LR]
    assert [g["lr"] for g in after.optimizer_state["param_groups"]] == [FORK_LR]  # --lr applies on fork
    sidecar = LM_FILE if entry == "korean" else TASK_FILE
    assert (checkpoints / "child" / sidecar).read_bytes() == (parent / sidecar).read_bytes()


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_non_finite_model_is_never_saved(entry, checkpoints, monkeypatch):
    parent = make_parent(entry, checkpoints, poison=True)
    fork(entry, parent, monkeypatch)  # loading is allowed: the parent is what it is
    with pytest.raises(NonFiniteModel, match="NaN or infinite"):
        nsml.save("child")
    assert not (checkpoints / "child").exists()


@pytest.fixture
def small(vocab) -> tuple[ModelConfig, torch.nn.Module]:
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=257,
                         hidden_size=8, layer_size=1, bidirectional=False, use_attention=True, decoder=True, ctc=False)
    return config, build_model(config)


def binding_of(model, optimizer, state, config, vocab, sidecars=(), lr=None) -> Binding:
    spec = {"config": config, "vocab": vocab}
    return Binding(model, optimizer, state, writer=partial(save_checkpoint, model=model, **spec),
                   check=partial(check_compatible, **spec), lr=lr, sidecars=sidecars)


def test_save_then_load_restores_weights_moments_state_and_sidecars(small, vocab, tmp_path):
    config, model = small
    optimizer = stepped(model, 1e-3)
    lm, pitch = LanguageModelSlot(NgramLM.train(["안녕하세요"], 2)), russian.PitchRule(PitchGender(165.0))
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / TASK_FILE).write_text(json.dumps({"task": "ru_numbers", "units": "words"}))
    binding_of(model, optimizer, TrainState(2, 20, 0.5), config, vocab, [lm, pitch]).save(str(tmp_path / "saved"))

    torch.manual_seed(99)
    other = build_model(config)
    other_optimizer = torch.optim.Adam(other.parameters(), lr=0.1)
    state, other_lm, other_pitch = TrainState(), LanguageModelSlot(), russian.PitchRule()
    binding_of(other, other_optimizer, state, config, vocab, [other_lm, other_pitch]).load(str(tmp_path / "saved"))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(optimizer_tensors(optimizer.state_dict()),
                                                 optimizer_tensors(other_optimizer.state_dict()), strict=True))
    assert other_optimizer.param_groups[0]["lr"] == 1e-3  # no lr given: the checkpoint's
    assert state == TrainState(2, 20, 0.5)
    assert other_lm.lm.score("안녕") == lm.lm.score("안녕")
    assert other_pitch.rule == PitchGender(165.0)


def test_export_leaves_out_the_optimizer_and_refuses_a_non_finite_model(small, vocab, tmp_path):
    config, model = small
    binding = binding_of(model, stepped(model, 1e-3), TrainState(1, 5, 2.0), config, vocab)
    binding.export(str(tmp_path / "shipped" / "words"))
    shipped = load_checkpoint(tmp_path / "shipped" / "words")
    assert shipped.optimizer_state is None and shipped.train_state["epoch"] == 1
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("inf")
    with pytest.raises(NonFiniteModel):
        binding.export(str(tmp_path / "again"))
    assert list((tmp_path / "again").iterdir()) == []


def test_the_end_of_an_epoch_reports_saves_and_exports_the_best(small, vocab, checkpoints, tmp_path, caplog):
    config, model = small
    state = TrainState(1, 8, 0.4)
    binding = binding_of(model, torch.optim.Adam(model.parameters()), state, config, vocab)
    binding.bind(lambda path: "")
    reporter = EpochReporter(state, "model", korean.logger, (*SPEECH, Metric("gender_error", "class_error",
                                                                              "gender err")),
                             export=partial(binding.export, str(tmp_path / "export")))
    figures = {"loss": 1.25, "cer": 0.5, "class_error": 0.25}
    with caplog.at_level("INFO"):
        reporter.end_epoch(EpochReport(0, figures, dict(figures, loss=0.4), 3.0, is_best=True))
        reporter.end_epoch(EpochReport(1, figures, figures, 3.0, is_best=False))
    assert "epoch 1: train loss 1.2500 cer 0.5000 gender err 0.2500 (3.0 s) | eval loss 0.4000" in caplog.text
    metrics = Store(checkpoints / "nsml.sqlite").latest_metrics("local")
    assert metrics == {"train__loss": 1.25, "train__cer": 0.5, "train__gender_error": 0.25, "eval__loss": 1.25,
                       "eval__cer": 0.5, "eval__gender_error": 0.25, "epoch": 2}
    assert {p.name for p in checkpoints.iterdir() if p.is_dir() and not p.name.startswith(".")} == {"model", "best"}
    assert load_checkpoint(tmp_path / "export").optimizer_state is None
