"""The seed's label-table module: ``load_label`` and the names built on it.

The implementation lives in ``speech_kit.vocab``, under the seed's modules; this file keeps the names 2019 code and
old snapshots import.
"""

from speech_kit.vocab import EOS_CHAR, HEADER, PAD_CHAR, SOS_CHAR, LabelTableError, Vocab, load_label

__all__ = ["EOS_CHAR", "HEADER", "PAD_CHAR", "SOS_CHAR", "LabelTableError", "Vocab", "load_label"]
