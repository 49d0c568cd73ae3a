"""One batched ``transcribe`` under every way of turning audio into text: ``main.py``'s ``infer``, the
``evaluation.transcribe`` command and ``nsml submit``.

Files are read in order of duration (from their headers), so each batch holds utterances of similar length;
results come back in the caller's order. A file that cannot be used (missing, unreadable, NaN or infinite samples)
gets an empty transcript and a warning naming it, and the others are decoded as usual: one bad file among a
thousand must not cost the other 999 their transcripts (or, under ``nsml submit``, the whole submission).

Two costs shape the batches, measured at the seed's settings on a CPU (``docs/performance.md``): the encoder's
convolutions cost what their padded frames cost, so a batch is encoded in length-sorted chunks of at most
``ENCODER_FRAMES`` padded frames; every decoder step reads all the GRU weights whatever the batch, so the chunks'
outputs are joined and decoded as one batch. On a CPU the batches are shared among forked one-thread processes
(``speech_kit.forked``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from models.decoding import DecodingOptions, decoder_for, evaluating
from models.lm import NgramLM
from models.seq2seq import EncoderOutput, Seq2seq
from speech_kit.audio import AudioError, probe
from speech_kit.batching import collate, cut_by_frames
from speech_kit.features import Featurizer, stretch
from speech_kit.forked import forked_map
from speech_kit.precision import autocast
from speech_kit.threads import recommended_threads
from speech_kit.units import TextUnits
from speech_kit.vocab import Vocab

# Padded feature frames per encoder chunk: 4,000 and 8,000 measured alike; 2,000, and a whole batch of 48
# (about 35,000), slower.
ENCODER_FRAMES = 8000

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recognition:
    """One file's result: its transcript and, for a model with a class head, the class id and its probability;
    for a file that could not be used, an empty transcript and ``error``, the one line that says why."""

    text: str
    class_id: int | None = None
    class_prob: float | None = None
    error: str | None = None


def warn_unusable(index: int, error: str) -> None:
    """The default ``on_error`` of ``recognize``: a logged warning naming the file (``error`` starts with it)."""
    logger.warning("%s; its transcript is left empty", error)


def recognize(model: Seq2seq, vocab: Vocab, paths: Sequence[str], options: DecodingOptions = DecodingOptions(),
              featurize: Callable[[str], torch.Tensor] | None = None, batch_size: int = 32,
              precision: str = "fp32", on_progress: Callable[[int], None] | None = None,
              units: TextUnits | None = None, lm: NgramLM | None = None,
              processes: int | None = None, encoder_frames: int = ENCODER_FRAMES,
              on_error: Callable[[int, str], None] = warn_unusable) -> list[Recognition]:
    """Transcripts (and classes) of ``paths`` (wav files), in order; ``on_progress(n)`` after each batch of ``n``.

    ``units`` turns the label table's text back into a transcript (e.g. composes jamo); ``lm`` joins CTC beam
    search when ``options.lm_weight`` > 0. Each batch is encoded once for both the transcript and the class.
    On a CPU the batches are shared among ``processes`` forked one-thread processes (``speech_kit.forked``;
    default: one per compute thread this process would use, ``speech_kit.threads.recommended_threads``), which
    decode about twice as fast on two cores as one process with two threads; 1 decodes here, with this
    process's threads. A file that cannot be read (``AudioError``: missing, not audio, NaN or infinite samples)
    gets ``Recognition("", error=...)`` and ``on_error(index, error)`` is called here, in the caller's process
    (default: a logged warning).
    """
    featurize = featurize or Featurizer()
    units = units or TextUnits()
    device = next(model.parameters()).device
    results: list[Recognition] = [Recognition("")] * len(paths)
    order = list(range(len(paths)))
    if len(paths) > 1:
        seconds: dict[int, float] = {}
        for i in order:
            try:
                info = probe(paths[i])
                seconds[i] = info.frames / info.rate
            except AudioError as err:
                results[i] = Recognition("", error=str(err))
        order = sorted(seconds, key=seconds.__getitem__)
        if on_progress is not None and len(order) < len(paths):
            on_progress(len(paths) - len(order))
    strategy = decoder_for(model, options, lm, vocab.chars)

    def recognize_batch(chosen: list[int]) -> list[Recognition]:
        recognitions: list[Recognition] = [Recognition("")] * len(chosen)
        feats, used = [], []
        for k, i in enumerate(chosen):
            try:
                feats.append(stretch(featurize(paths[i]), options.stretch))
                used.append(k)
            except AudioError as err:  # NaN samples are found only now, on reading the whole file
                recognitions[k] = Recognition("", error=str(err))
        if not feats:
            return recognitions
        chunks = cut_by_frames(range(len(feats)), [f.size(0) for f in feats], encoder_frames, len(feats))
        with evaluating(model), autocast(device, precision):
            enc = EncoderOutput.join([_encode(model, [feats[k] for k in chunk], vocab.pad_id, device)
                                      for chunk in chunks])
            ids = strategy(model, enc)
            probs = (torch.softmax(model.classifier(model.pooled(enc)).float(), -1)
                     if model.classifier is not None else None)
        for row, (j, label_ids) in enumerate(zip((j for chunk in chunks for j in chunk), ids)):
            k = used[j]
            text = units.decode(vocab.decode(label_ids))
            if probs is None:
                recognitions[k] = Recognition(text)
            else:
                best = int(probs[row].argmax())
                recognitions[k] = Recognition(text, best, float(probs[row, best]))
        return recognitions

    if processes is None:
        processes = recommended_threads().compute
    processes = processes if device.type == "cpu" else 1
    batches = _even_batches(order, batch_size, processes)
    for index, recognitions in forked_map(recognize_batch, batches, processes):
        for i, recognition in zip(batches[index], recognitions):
            results[i] = recognition
        if on_progress is not None:
            on_progress(len(batches[index]))
    for i, result in enumerate(results):
        if result.error is not None:
            on_error(i, result.error)
    return results


def _even_batches(order: list[int], batch_size: int, processes: int) -> list[list[int]]:
    """``order`` cut into consecutive batches of at most ``batch_size``, as equal as possible and as many as a
    multiple of ``processes`` where there are enough utterances, so that every process gets as much work."""
    if not order:
        return []
    count = -(-len(order) // batch_size)
    if processes > 1 and len(order) >= processes:
        count = -(-count // processes) * processes
    size = -(-len(order) // count)
    return [order[start: start + size] for start in range(0, len(order), size)]


def _encode(model: Seq2seq, feats: list[torch.Tensor], pad_id: int, device: torch.device) -> EncoderOutput:
    batch = collate([(feat, []) for feat in feats], pad_id)
    return model.encode(batch.feats.to(device), batch.feat_lengths if len(feats) > 1 else None)


def transcribe(model: Seq2seq, vocab: Vocab, paths: Sequence[str], options: DecodingOptions = DecodingOptions(),
               featurize: Callable[[str], torch.Tensor] | None = None, batch_size: int = 32,
               precision: str = "fp32", on_progress: Callable[[int], None] | None = None,
               units: TextUnits | None = None, lm: NgramLM | None = None, processes: int | None = None,
               encoder_frames: int = ENCODER_FRAMES,
               on_error: Callable[[int, str], None] = warn_unusable) -> list[str]:
    """The transcripts alone of ``recognize`` (same arguments)."""
    return [r.text for r in recognize(model, vocab, paths, options, featurize, batch_size, precision, on_progress,
                                      units, lm, processes, encoder_frames, on_error)]
