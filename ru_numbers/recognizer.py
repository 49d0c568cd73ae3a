"""The spoken-numbers recogniser: the shared Seq2seq with a CTC layer over number units and a gender head.

A checkpoint folder holds the kit's ``model.pt`` (architecture, feature, label table of units, weights) and
``task.json`` naming the unit table (``words`` or ``digits``); ``Recognizer.load`` rebuilds everything from it.
Recognition runs through the kit's one batched ``recognize``: one encoder pass gives the CTC transcript (units
-> digits through the normaliser) and the gender.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from models import DecodingOptions, ModelConfig, Seq2seq, load_checkpoint, save_checkpoint
from models.config import CONV_KERNELS, CONV_TIME_STRIDES
from models.recommended import read_recommended, with_recommended
from models.transcribe import recognize, warn_unusable
from ru_numbers.gender import PitchGender, utterance_f0
from ru_numbers.manifest import GENDERS
from ru_numbers.units import UnitTable, table
from speech_kit.atomic import atomic_write
from speech_kit.features import FeatureConfig, Featurizer
from speech_kit.finite import check_finite_model
from speech_kit.vocab import Vocab

TASK_FILE = "task.json"
GREEDY = DecodingOptions(max_len=40)  # at most 40 number words; the longest number has 7


def model_config(vocab: Vocab, features: FeatureConfig, hidden_size: int, layer_size: int,
                 conv_channels: int, conv_kernels: tuple[tuple[int, int], tuple[int, int]] = CONV_KERNELS,
                 conv_time_strides: tuple[int, int] = CONV_TIME_STRIDES) -> ModelConfig:
    """CTC only (no attention decoder: number words are few and monotonic) plus a two-way gender head."""
    return ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id,
                       feature_size=features.size, hidden_size=hidden_size, layer_size=layer_size,
                       bidirectional=True, decoder=False, ctc=True, classes=len(GENDERS),
                       conv_channels=conv_channels, conv_kernels=conv_kernels,
                       conv_time_strides=conv_time_strides)


def to_digits(units: UnitTable, text: str) -> str:
    """Decoded label text -> digits transcription; text that spells no number gives "" (all of it wrong)."""
    try:
        return units.from_text(text)
    except ValueError:
        return ""


def save(directory: str | os.PathLike, model: torch.nn.Module, config: ModelConfig, vocab: Vocab,
         features: FeatureConfig, units: UnitTable, optimizer: torch.optim.Optimizer | None = None,
         train_state: dict | None = None, pitch: PitchGender | None = None) -> None:
    """The kit's checkpoint plus ``task.json`` (units, and the pitch rule of the gender decision when there is
    one); a model with NaN or Inf weights is refused, never saved."""
    check_finite_model(model, optimizer)
    save_checkpoint(directory, model, config, vocab, optimizer, train_state, features)
    task = {"task": "ru_numbers", "units": units.kind}
    if pitch is not None:
        task["gender"] = pitch.to_dict()
    with atomic_write(Path(directory) / TASK_FILE) as f:
        json.dump(task, f)


@dataclass(frozen=True)
class Result:
    transcription: str  # digits, "" when the units spelled no number
    gender: str
    gender_prob: float  # the gender head's probability of its own choice
    f0: float | None = None  # median pitch in Hz, when the checkpoint decides gender by pitch and one was found
    head: str = ""  # the gender head's own choice


class Recognizer:
    """Paths -> digits and gender. With a ``pitch`` rule (``ru_numbers.gender``) the gender is the pitch's where
    the voice has one outside the rule's undecided band, the head's elsewhere; without a rule, the head's.
    ``decoding``: greedy CTC unless the checkpoint recommends otherwise (its ``decoding.json``)."""

    def __init__(self, model: Seq2seq, vocab: Vocab, units: UnitTable, features: FeatureConfig,
                 pitch: PitchGender | None = None, decoding: DecodingOptions = GREEDY):
        self.model, self.vocab, self.units, self.pitch, self.decoding = model, vocab, units, pitch, decoding
        self.featurizer = Featurizer(features)

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str = "cpu") -> Recognizer:
        checkpoint = load_checkpoint(directory, map_location=device)
        task_path = Path(directory) / TASK_FILE
        if not task_path.is_file():
            raise FileNotFoundError(f"{directory}: no {TASK_FILE} (not a ru_numbers checkpoint)")
        task = json.loads(task_path.read_text(encoding="utf-8"))
        units = table(task["units"])
        units.check(checkpoint.vocab)
        return cls(checkpoint.build(device), checkpoint.vocab, units, checkpoint.features,
                   PitchGender.from_dict(task.get("gender")), with_recommended(GREEDY, read_recommended(directory)))

    def __call__(self, paths: Sequence[str], batch_size: int = 32, precision: str = "fp32",
                 on_progress: Callable[[int], None] | None = None,
                 decoding: DecodingOptions | None = None,
                 on_error: Callable[[int, str], None] = warn_unusable) -> list[Result]:
        """``decoding``: the recogniser's own by default; ``beam_size`` > 1 is CTC prefix beam search, where
        ``length_bonus`` rewards each emitted word (a counterweight to dropped words). A file that cannot be used
        gets ``Result("", "", 0.0)`` and ``on_error(index, why)`` (``models.transcribe.recognize``)."""
        results = recognize(self.model, self.vocab, paths, decoding or self.decoding, self.featurizer, batch_size,
                            precision,
                            on_progress, on_error=on_error)
        out = []
        for path, r in zip(paths, results):
            if r.error is not None:
                out.append(Result("", "", 0.0))
                continue
            head = GENDERS[r.class_id]
            f0 = utterance_f0(path) if self.pitch is not None else None
            gender = self.pitch.decide(f0, head) if self.pitch is not None else head
            out.append(Result(to_digits(self.units, r.text), gender, r.class_prob, f0, head))
        return out
