"""One batched ``transcribe`` under every way of turning audio into text: ``main.py``'s ``infer``, the
``evaluation.transcribe`` command and ``nsml submit``.

Files are read in order of duration (from their headers) so each batch holds utterances of similar length and
little padding; results come back in the caller's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from label_loader import Vocab
from loader import _collate_fn
from models.decoding import DecodingOptions, decode
from models.lm import NgramLM
from models.seq2seq import Seq2seq
from speech_kit.audio import probe
from speech_kit.features import Featurizer
from speech_kit.precision import autocast
from speech_kit.units import TextUnits


def transcribe(model: Seq2seq, vocab: Vocab, paths: Sequence[str], options: DecodingOptions = DecodingOptions(),
               featurize: Callable[[str], torch.Tensor] | None = None, batch_size: int = 16,
               precision: str = "fp32", on_progress: Callable[[int], None] | None = None,
               units: TextUnits | None = None, lm: NgramLM | None = None) -> list[str]:
    """Transcripts of ``paths`` (wav files), in order; ``on_progress(n)`` after each batch of ``n`` files.

    ``units`` turns the label table's text back into a transcript (e.g. composes jamo); ``lm`` joins CTC beam
    search when ``options.lm_weight`` > 0.
    """
    featurize = featurize or Featurizer()
    units = units or TextUnits()
    device = next(model.parameters()).device
    order = list(range(len(paths)))
    if len(paths) > 1:
        seconds = [info.frames / info.rate for info in map(probe, paths)]
        order.sort(key=seconds.__getitem__)
    texts: list[str] = [""] * len(paths)
    for start in range(0, len(order), batch_size):
        chosen = order[start: start + batch_size]
        batch = _collate_fn([(featurize(paths[i]), []) for i in chosen], vocab.pad_id)
        with autocast(device, precision):
            ids = decode(model, batch.feats.to(device), batch.feat_lengths if len(chosen) > 1 else None, options,
                         lm, vocab.chars)
        for i, row in zip(chosen, ids):
            texts[i] = units.decode(vocab.decode(row))
        if on_progress is not None:
            on_progress(len(chosen))
    return texts
