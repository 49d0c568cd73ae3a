"""One batched ``transcribe`` under every way of turning audio into text: ``main.py``'s ``infer``, the
``evaluation.transcribe`` command and ``nsml submit``.

Files are read in order of duration (from their headers) so each batch holds utterances of similar length and
little padding; results come back in the caller's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from label_loader import Vocab
from loader import _collate_fn
from models.decoding import DecodingOptions, decoder_for, evaluating
from models.lm import NgramLM
from models.seq2seq import Seq2seq
from speech_kit.audio import probe
from speech_kit.features import Featurizer
from speech_kit.precision import autocast
from speech_kit.units import TextUnits


@dataclass(frozen=True)
class Recognition:
    """One file's result: its transcript and, for a model with a class head, the class id and its probability."""

    text: str
    class_id: int | None = None
    class_prob: float | None = None


def recognize(model: Seq2seq, vocab: Vocab, paths: Sequence[str], options: DecodingOptions = DecodingOptions(),
              featurize: Callable[[str], torch.Tensor] | None = None, batch_size: int = 16,
              precision: str = "fp32", on_progress: Callable[[int], None] | None = None,
              units: TextUnits | None = None, lm: NgramLM | None = None) -> list[Recognition]:
    """Transcripts (and classes) of ``paths`` (wav files), in order; ``on_progress(n)`` after each batch of ``n``.

    ``units`` turns the label table's text back into a transcript (e.g. composes jamo); ``lm`` joins CTC beam
    search when ``options.lm_weight`` > 0. Each batch is encoded once for both the transcript and the class.
    """
    featurize = featurize or Featurizer()
    units = units or TextUnits()
    device = next(model.parameters()).device
    order = list(range(len(paths)))
    if len(paths) > 1:
        seconds = [info.frames / info.rate for info in map(probe, paths)]
        order.sort(key=seconds.__getitem__)
    strategy = decoder_for(model, options, lm, vocab.chars)
    results: list[Recognition] = [Recognition("")] * len(paths)
    for start in range(0, len(order), batch_size):
        chosen = order[start: start + batch_size]
        batch = _collate_fn([(featurize(paths[i]), []) for i in chosen], vocab.pad_id)
        with evaluating(model), autocast(device, precision):
            enc = model.encode(batch.feats.to(device), batch.feat_lengths if len(chosen) > 1 else None)
            ids = strategy(model, enc)
            probs = (torch.softmax(model.classifier(model.pooled(enc)).float(), -1)
                     if model.classifier is not None else None)
        for row, (i, label_ids) in enumerate(zip(chosen, ids)):
            text = units.decode(vocab.decode(label_ids))
            if probs is None:
                results[i] = Recognition(text)
            else:
                best = int(probs[row].argmax())
                results[i] = Recognition(text, best, float(probs[row, best]))
        if on_progress is not None:
            on_progress(len(chosen))
    return results


def transcribe(model: Seq2seq, vocab: Vocab, paths: Sequence[str], options: DecodingOptions = DecodingOptions(),
               featurize: Callable[[str], torch.Tensor] | None = None, batch_size: int = 16,
               precision: str = "fp32", on_progress: Callable[[int], None] | None = None,
               units: TextUnits | None = None, lm: NgramLM | None = None) -> list[str]:
    """The transcripts alone of ``recognize`` (same arguments)."""
    return [r.text for r in recognize(model, vocab, paths, options, featurize, batch_size, precision, on_progress,
                                      units, lm)]
