"""What an entry binds for NSML: ``save(dir)`` and ``load(dir)`` of its model, optimizer, training state and sidecar
files, handed with its ``infer`` to ``nsml.bind``.

Both entries save the same way: a model with NaN or Inf values is refused before anything is written, then the
entry's checkpoint writer runs (``models.save_checkpoint``, or the recogniser's ``save`` with its ``task.json``),
then each sidecar writes its file beside it. A load checks compatibility first, then restores sidecars, weights and
the optimizer's moments; its learning rate is this run's ``lr``, so a flag given on fork applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

import nsml
from models.checkpoint import Checkpoint, load_checkpoint
from models.decoding import DecodingOptions
from models.lm import LM_FILE, NgramLM
from models.recommended import RECOMMENDED_FILE, describe, read_recommended, with_recommended, write_recommended
from speech_kit.finite import check_finite_model
from speech_kit.train import TrainState

logger = logging.getLogger("entry")


class Writer(Protocol):
    """Writes ``directory/model.pt`` (and whatever else makes the entry's checkpoint), e.g. a ``functools.partial``
    of ``models.save_checkpoint`` over the model, its config and label table."""

    def __call__(self, directory: str, *, optimizer: torch.optim.Optimizer | None, train_state: dict) -> Any: ...


class Check(Protocol):
    """Raises, with the reason, when a checkpoint was made for another model (e.g. a ``functools.partial`` of
    ``models.check_compatible`` over this run's config and label table); ``where`` names it in the message."""

    def __call__(self, checkpoint: Checkpoint, *, where: str) -> Any: ...


class Sidecar(Protocol):
    """A file of the run's own that travels with every checkpoint (an n-gram LM, a gender rule)."""

    def save(self, directory: str) -> None: ...

    def load(self, directory: str) -> None: ...


class LanguageModelSlot:
    """The n-gram LM a run trains or loads; it is saved as ``lm.json`` beside ``model.pt``."""

    FILE = LM_FILE

    def __init__(self, lm: NgramLM | None = None):
        self.lm = lm

    def save(self, directory: str) -> None:
        if self.lm is not None:
            self.lm.save(Path(directory) / self.FILE)

    def load(self, directory: str) -> None:
        path = Path(directory) / self.FILE
        if path.is_file():
            self.lm = NgramLM.load(path)


class DecodingSlot:
    """The decoding ``infer`` uses: the run's own, or, when the run chose none (``chosen`` False: no search flag
    and no ``--greedy``), what a loaded checkpoint recommends in its ``decoding.json``. A run whose decoding is a
    beam search records it beside each checkpoint it saves, so a submit or an export decodes the same way."""

    FILE = RECOMMENDED_FILE

    def __init__(self, options: DecodingOptions = DecodingOptions(), chosen: bool = False):
        self.options = options
        self.chosen = chosen
        self.adopted = False

    def save(self, directory: str) -> None:
        if self.options.beam_size > 1:
            write_recommended(directory, self.options, note="adopted from the checkpoint it loaded" if self.adopted
                              else "the decoding flags of the run that saved it")

    def load(self, directory: str) -> None:
        recommended = read_recommended(directory)
        if recommended and not self.chosen:
            self.options = with_recommended(self.options, recommended)
            self.adopted = True
            logger.info("decoding as %s recommends: %s (--greedy or a decoding flag overrides)", directory,
                        describe(self.options))


@dataclass
class Binding:
    """``save``/``load`` of one run's checkpoints; ``lr``, when given, replaces the loaded optimizer's learning rate
    (the moments are the checkpoint's)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer | None
    state: TrainState
    writer: Writer
    check: Check
    lr: float | None = None
    sidecars: Sequence[Sidecar] = ()

    def save(self, directory: str, **kwargs: Any) -> None:
        """A checkpoint with the optimizer state, what ``nsml.save`` calls (its extra arguments are ignored)."""
        self._write(directory, self.optimizer)

    def export(self, directory: str) -> None:
        """A checkpoint without the optimizer state, into ``directory`` (created): the shipping copy."""
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._write(directory, None)

    def _write(self, directory: str, optimizer: torch.optim.Optimizer | None) -> None:
        check_finite_model(self.model, optimizer)  # a NaN model must never become a checkpoint anyone can submit
        self.writer(directory, optimizer=optimizer, train_state=self.state.to_dict())
        for sidecar in self.sidecars:
            sidecar.save(directory)

    def load(self, directory: str, **kwargs: Any) -> None:
        checkpoint = load_checkpoint(directory, map_location=next(self.model.parameters()).device)
        self.check(checkpoint, where=directory)
        for sidecar in self.sidecars:
            sidecar.load(directory)
        self.model.load_state_dict(checkpoint.model_state)
        if self.optimizer is not None and checkpoint.optimizer_state:
            self.optimizer.load_state_dict(checkpoint.optimizer_state)
            if self.lr is not None:
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr
        self.state.update(checkpoint.train_state)
        logger.info("loaded %s (epoch %s)", directory, self.state.epoch)

    def init(self, directory: str) -> None:
        """Start from another run's weights (``--init``): the checkpoint must fit this model, its sidecars are
        loaded, and the optimizer and training state stay fresh, so this run trains its own schedule from them."""
        checkpoint = load_checkpoint(directory, map_location=next(self.model.parameters()).device)
        self.check(checkpoint, where=directory)
        for sidecar in self.sidecars:
            sidecar.load(directory)
        self.model.load_state_dict(checkpoint.model_state)
        logger.info("initialised from %s (its epoch %s); optimizer and schedule start fresh", directory,
                    checkpoint.train_state.get("epoch", "?") if checkpoint.train_state else "?")

    def bind(self, infer: Callable[[Any], Any]) -> None:
        """Hand ``save``, ``load`` and ``infer`` to NSML (``nsml.save``, ``nsml.load``, ``nsml.paused``)."""
        nsml.bind(save=self.save, load=self.load, infer=infer)
