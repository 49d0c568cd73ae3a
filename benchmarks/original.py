"""The 2019 baseline's own code, trained on the benchmark's prepared batches: the row that keeps
``benchmarks.reference`` honest.

The project does not ship the 2019 code (its licence and this project's rules keep it out): the user points to a
copy with ``--original DIR`` or ``SPEECH_2019_CODE``, a folder holding the baseline's ``main.py``, ``loader.py``,
``label_loader.py`` and ``models`` package, patched only where torch 2 and numpy 2 refuse their 1.x calls. This
module is the only place that imports it, and it imports it under its own names only for as long as the import
takes: the folder's ``main``, ``loader``, ``label_loader``, ``models`` and ``wavio`` would otherwise shadow the
project's modules of the same names.

What runs is the original's: the model is built with its classes, the way its ``main()`` built it (``run.sh``'s
``--use_attention`` and ``main()``'s defaults: 3 GRU layers, dropout 0.2, no bidirectional encoder, ``max_len``
80, Adam at 1e-4, summed cross-entropy that ignores padding), and a pass is its ``train()`` itself: its loss, its
CER bookkeeping, its ``DataParallel`` wrapping and ``flatten_parameters`` calls. Three things are this module's:

- the queue ``train()`` reads holds the batches ``benchmarks.train_step`` prepared (the ones
  ``benchmarks.reference.seed_train_step`` trains), then the empty batch the original's loader threads ended with;
  no loader threads run, as none run in the reference's pass.
- before each batch, Python's global random generator is given the state of the generator the reference's pass
  draws its teacher-forcing decisions from: the original's decoder draws from the global one, and its ``train()``
  draws once more per batch (its one-in-a-hundred display), so without this the two passes would not train the
  same batches the same way, and a free-running batch costs more than a teacher-forced one.
- ``nsml`` is a stand-in that records nothing (the original reported to the platform every 10 batches, which is
  the platform's cost, not the model's), and the original's log lines go to stderr, not into the benchmark's table.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import sys
import time
import types
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.common import ROOT, BenchmarkError

ENV_VAR = "SPEECH_2019_CODE"
# What a folder must hold: the files the adapter imports (main.py imports the other two top-level modules).
REQUIRED = ("main.py", "loader.py", "label_loader.py", "models/__init__.py", "models/EncoderRNN.py",
            "models/DecoderRNN.py", "models/seq2seq.py")
# Top-level module names of the 2019 code that the project (or its test runner) may also have imported.
SHADOWED = ("main", "loader", "label_loader", "models", "wavio", "nsml")


@dataclass(frozen=True)
class Settings:
    """The 2019 training run: ``main()``'s argument defaults, with the ``--use_attention`` of ``run.sh``."""

    hidden_size: int = 512
    layer_size: int = 3
    dropout: float = 0.2
    bidirectional: bool = False
    use_attention: bool = True
    max_len: int = 80
    lr: float = 1e-4
    seed: int = 1
    print_batch: int = 10  # main() passes 10 to train()


@dataclass
class OriginalRun:
    """The imported ``main`` module and what its ``main()`` set up before training."""

    main: types.ModuleType
    model: nn.Module
    optimizer: torch.optim.Optimizer
    criterion: nn.Module
    settings: Settings


def folder_from(option: str | os.PathLike | None) -> Path | None:
    """The 2019 code's folder: the ``--original`` option, else ``$SPEECH_2019_CODE``, else None."""
    chosen = option if option else os.environ.get(ENV_VAR, "")
    return Path(chosen).expanduser() if chosen else None


def check_folder(folder: str | os.PathLike) -> Path:
    """``folder`` resolved, if it holds the 2019 baseline; else a one-line ``BenchmarkError`` naming it."""
    path = Path(folder).expanduser().resolve()
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise BenchmarkError(f"original 2019 code: {path} does not hold the 2019 baseline (missing "
                             f"{', '.join(missing)}); point --original or ${ENV_VAR} at a folder with its main.py, "
                             f"loader.py, label_loader.py and models/")
    return path


def _platform_stand_in() -> types.ModuleType:
    """An ``nsml`` for ``main.py`` to import: no dataset, no GPU, and calls that record nothing."""
    module = types.ModuleType("nsml")
    module.__dict__.update(GPU_NUM=0, DATASET_PATH=None, DATASET_NAME=None, HAS_DATASET=False, IS_ON_NSML=False)
    for name in ("report", "bind", "save", "load", "paused", "infer"):
        setattr(module, name, lambda *args, **kwargs: None)
    return module


@contextmanager
def _importing_from(folder: Path) -> Iterator[None]:
    """Top-level imports resolve in ``folder`` (and ``nsml`` to the stand-in) inside; every module name the 2019
    code shares with the project is as it was after, so neither shadows the other. No bytecode is written into
    the user's folder."""
    def shadowed(name: str) -> bool:
        return name.split(".")[0] in SHADOWED

    saved = {name: module for name, module in sys.modules.items() if shadowed(name)}
    for name in saved:
        del sys.modules[name]
    sys.modules["nsml"] = _platform_stand_in()
    sys.path.insert(0, str(folder))
    bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.dont_write_bytecode = bytecode
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if shadowed(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def _log_to_stderr() -> None:
    """The 2019 loader configures the root logger to print to stdout; the benchmark's stdout is its table."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def load_original(folder: str | os.PathLike) -> types.ModuleType:
    """The 2019 ``main`` module from ``folder`` (its ``loader``, ``label_loader`` and ``models`` with it)."""
    path = check_folder(folder)
    try:
        with _importing_from(path):
            main = importlib.import_module("main")
    except Exception as err:  # the user's copy: anything its imports raise is the copy's problem, in one line
        raise BenchmarkError(f"original 2019 code: importing {path / 'main.py'} failed: "
                             f"{type(err).__name__}: {err}") from err
    _log_to_stderr()
    for name in ("train", "EncoderRNN", "DecoderRNN", "Seq2seq", "label_loader", "N_FFT"):
        if not hasattr(main, name):
            raise BenchmarkError(f"original 2019 code: {path / 'main.py'} has no {name}: not the 2019 baseline")
    return main


def label_table(root: Path) -> Path:
    """The label table the benchmark's vocabulary comes from (``benchmarks.common.dataset_vocab``'s choice)."""
    table = root / "labels.txt"
    return table if table.is_file() else ROOT / "hackathon.labels"


def build(main: types.ModuleType, labels: Path, vocab_size: int, settings: Settings) -> OriginalRun:
    """What the 2019 ``main()`` did before its first epoch: read the label table with its ``label_loader``,
    seed, build the model with its classes, flatten, initialise, wrap in ``DataParallel``, make Adam and the loss.

    ``vocab_size`` is the reference's label count: the original sizes its decoder by the table it read, and a
    different size would time a different model.
    """
    char2index, index2char = main.label_loader.load_label(str(labels))
    if len(char2index) != vocab_size:
        raise BenchmarkError(f"original 2019 code: its label_loader reads {len(char2index)} labels from {labels}, "
                             f"the benchmark's vocabulary has {vocab_size}")
    main.char2index, main.index2char = char2index, index2char
    main.SOS_token, main.EOS_token, main.PAD_token = char2index["<s>"], char2index["</s>"], char2index["_"]
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    directions = 2 if settings.bidirectional else 1
    encoder = main.EncoderRNN(main.N_FFT / 2 + 1, settings.hidden_size, input_dropout_p=settings.dropout,
                              dropout_p=settings.dropout, n_layers=settings.layer_size,
                              bidirectional=settings.bidirectional, rnn_cell="gru", variable_lengths=False)
    decoder = main.DecoderRNN(len(char2index), settings.max_len, settings.hidden_size * directions,
                              main.SOS_token, main.EOS_token, n_layers=settings.layer_size, rnn_cell="gru",
                              bidirectional=settings.bidirectional, input_dropout_p=settings.dropout,
                              dropout_p=settings.dropout, use_attention=settings.use_attention)
    model = main.Seq2seq(encoder, decoder)
    model.flatten_parameters()
    for param in model.parameters():
        param.data.uniform_(-0.08, 0.08)
    model = nn.DataParallel(model).to(torch.device("cpu"))
    optimizer = torch.optim.Adam(model.module.parameters(), lr=settings.lr)
    criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=main.PAD_token)
    return OriginalRun(main, model, optimizer, criterion, settings)


Batch = tuple[torch.Tensor, torch.Tensor, list[int], list[int]]


class _Feed:
    """What ``train()`` reads as its loader queue: the prepared batches in order, then the empty batch a 2019
    loader thread ended with. Handing over a batch first gives Python's global random generator the state of
    ``rng`` and advances ``rng`` by the one draw ``seed_train_step`` makes per batch, so the original's decoder
    decides teacher forcing for that batch as the reference does."""

    def __init__(self, batches: Sequence[Batch], rng: random.Random):
        self._batches = deque(batches)
        self._rng = rng

    def empty(self) -> bool:
        return not self._batches

    def get(self) -> Batch:
        if not self._batches:
            return torch.zeros(0, 0, 0), torch.zeros(0, 0, dtype=torch.long), [], []
        random.setstate(self._rng.getstate())
        self._rng.random()
        return self._batches.popleft()


def train_pass(run: OriginalRun, batches: Sequence[Batch], teacher_forcing: float, rng: random.Random
               ) -> list[float]:
    """One pass of the 2019 ``train()`` over ``batches`` (``seed_collate``'s form, which is its loader's); returns
    each batch's summed loss per target token, as ``seed_train_step`` does (read off the criterion, which the
    original only summed)."""
    losses: list[float] = []

    def record(module: nn.Module, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        tokens = int((inputs[1] != module.ignore_index).sum())
        losses.append(output.item() / max(tokens, 1))

    hook = run.criterion.register_forward_hook(record)
    try:
        run.main.train(run.model, len(batches), _Feed(batches, rng), run.criterion, run.optimizer,
                       torch.device("cpu"), time.time(), 1, run.settings.print_batch, teacher_forcing)
    finally:
        hook.remove()
    return losses


def parameters(run: OriginalRun) -> int:
    return sum(p.numel() for p in run.model.parameters())


def check_import(folder: str) -> dict:
    """Import the 2019 code (in a fresh process, as the measurements will): fails early and in one line."""
    main = load_original(folder)
    return {"main": str(Path(main.__file__).resolve())}
