"""What the two NSML entries (``main.py``, ``ru_numbers/train.py``) share above the core: the save/load/infer
binding (``entry.binding``) and the per-batch and end-of-epoch reporting (``entry.epochs``)."""

from entry.binding import Binding, Check, DecodingSlot, LanguageModelSlot, Sidecar, Writer
from entry.epochs import SPEECH, EpochReporter, Metric, Snapshots

__all__ = ["SPEECH", "Binding", "Check", "DecodingSlot", "EpochReporter", "LanguageModelSlot", "Metric", "Sidecar",
           "Snapshots", "Writer"]
