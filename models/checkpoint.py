"""Self-describing checkpoints: architecture, feature, label table and state dicts in one ``model.pt``.

A checkpoint rebuilds its model and its feature without any command-line flags, and loads with
``weights_only=True`` (plain tensors, numbers, strings, lists and dicts), so opening one never runs pickled code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.config import ModelConfig
from models.seq2seq import Seq2seq, build_model
from speech_kit.atomic import atomic_write
from speech_kit.features import FeatureConfig
from speech_kit.vocab import Vocab

CHECKPOINT_FILE = "model.pt"
FORMAT = "speech-hackathon-seq2seq/2"
READABLE_FORMATS = ("speech-hackathon-seq2seq/1", FORMAT)  # /1 kept dropout and max_len in the config


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or made for another model; the message says which."""


@dataclass
class Checkpoint:
    config: ModelConfig
    vocab: Vocab
    model_state: dict
    optimizer_state: dict | None = None
    train_state: dict = field(default_factory=dict)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    units: str = "char"  # speech_kit.units kind: how the label table's text maps back to transcripts

    def build(self, device: torch.device | str = "cpu") -> Seq2seq:
        """A model with this checkpoint's weights, in eval mode."""
        model = build_model(self.config)
        model.load_state_dict(self.model_state)
        return model.to(device).eval()


def save_checkpoint(directory: str | os.PathLike, model: torch.nn.Module, config: ModelConfig, vocab: Vocab,
                    optimizer: torch.optim.Optimizer | None = None, train_state: dict | None = None,
                    features: FeatureConfig | None = None, units: str = "char") -> Path:
    """Write ``directory/model.pt`` atomically (temporary name, then rename)."""
    path = Path(directory) / CHECKPOINT_FILE
    payload = {
        "format": FORMAT,
        "config": config.to_dict(),
        "features": (features or FeatureConfig()).to_dict(),
        "units": units,
        "labels": vocab.to_rows(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "train_state": dict(train_state or {}),
    }
    with atomic_write(path, "wb") as f:
        torch.save(payload, f)
    return path


def load_checkpoint(directory: str | os.PathLike, map_location: torch.device | str = "cpu") -> Checkpoint:
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        raise CheckpointError(f"{directory}: no {CHECKPOINT_FILE} (not a checkpoint folder of this model)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint")
    try:
        config = ModelConfig.from_dict(payload["config"])
        features = FeatureConfig.from_dict(payload.get("features") or {})
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: {err}") from None
    return Checkpoint(config, Vocab.from_rows(payload["labels"], str(path)), payload["model"],
                      payload.get("optimizer"), payload.get("train_state") or {}, features,
                      str(payload.get("units", "char")))


def check_compatible(checkpoint: Checkpoint, config: ModelConfig, vocab: Vocab, where: str,
                     features: FeatureConfig | None = None, units: str | None = None) -> None:
    """Refuse, with the reason, a checkpoint made with another label table, architecture or feature."""
    if checkpoint.vocab.chars != vocab.chars:
        raise CheckpointError(f"{where}: made with another label table ({len(checkpoint.vocab)} labels, "
                              f"this run has {len(vocab)} from {vocab.source}); pass the same --labels")
    diffs = checkpoint.config.differences(config)
    if features is not None and checkpoint.features != features:
        diffs.append(f"features: {checkpoint.features.to_dict()} != {features.to_dict()}")
    if units is not None and checkpoint.units != units:
        diffs.append(f"units: {checkpoint.units!r} != {units!r}")
    if diffs:
        raise CheckpointError(f"{where}: made with another model architecture (checkpoint != this run: "
                              f"{'; '.join(diffs)}); pass the same flags")
