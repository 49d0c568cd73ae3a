"""Decoding: encoder output -> token ids, by interchangeable strategies chosen from one options object.

``decode(model, feats, lengths, options, lm)`` encodes a batch once and hands it to the strategy that the model
and the options call for. Models with the attention decoder: ``GreedyDecoder`` (argmax at every step, the seed's
inference) or ``BeamSearchDecoder`` (``beam_size`` > 1; with a CTC layer and ``ctc_weight`` > 0 its finished
hypotheses are rescored by their CTC probability). CTC-only models: ``CTCGreedyDecoder`` (best frame labels,
repeats merged, blanks dropped) or ``CTCPrefixBeamDecoder`` (prefix beam search, optionally with an n-gram LM).
Results are ids without ``<s>``/``</s>``.

No strategy cuts a transcript short of its audio: an utterance may have ``max_len`` labels or as many as its
encoder has frames (40 ms each, so 25 labels a second), whichever is more (``step_limit``). A fixed cap silently
cut long audio: a ten-minute file came out as 37 characters under the seed's ``--max_len 80``. One label per
encoder frame is the most a CTC alignment can hold, and several times what speech has (a fast Korean speaker says
under 10 syllables a second), so an attention decoder that stops there has either finished or lost its way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.decoder import DecoderState
from models.lm import NgramLM
from models.seq2seq import EncoderOutput, Seq2seq

BLANK_ID = 0  # CTC blank: the padding label "_", which never occurs in a transcript


@dataclass(frozen=True)
class DecodingOptions:
    """How to turn encoder output into text; none of these are part of the model, so each may change freely.

    ``max_len``: most tokens per utterance (the seed's ``--max_len``) for audio shorter than ``max_len`` encoder
    frames; longer audio may have one token per frame (``step_limit``). ``beam_size``: 1 is greedy.
    ``length_penalty``: attention beam scores are divided by ``length ** length_penalty`` (0: raw log-probs).
    ``ctc_weight``: weight of the CTC score when rescoring a joint model's attention beam.
    ``lm_weight``, ``length_bonus``: weight of the n-gram LM and a per-unit bonus in CTC prefix beam search.
    ``stretch``: the features are stretched in time this many times before encoding (1.1: the speech is heard
    10 % slower, its spectrum unchanged; ``speech_kit.features.stretch``), for a model that misses words of fast
    speech.
    """

    max_len: int = 80
    beam_size: int = 1
    length_penalty: float = 0.0
    ctc_weight: float = 0.0
    lm_weight: float = 0.0
    length_bonus: float = 0.0
    stretch: float = 1.0

    def __post_init__(self) -> None:
        if self.max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {self.max_len}")
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {self.beam_size}")
        if self.length_penalty < 0:
            raise ValueError(f"length_penalty must be non-negative, got {self.length_penalty}")
        if not 0.0 <= self.ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must be within [0, 1], got {self.ctc_weight}")
        if not 0.5 <= self.stretch <= 2.0:
            raise ValueError(f"stretch must be within [0.5, 2], got {self.stretch}")


def step_limit(options: DecodingOptions, frames: int) -> int:
    """Most labels an utterance of ``frames`` encoder frames may be given: ``max_len``, or one per frame for
    audio longer than that."""
    return max(options.max_len, frames)


class GreedyDecoder:
    """The whole batch at once: feed back the argmax, until every utterance has produced ``</s>``."""

    def __init__(self, options: DecodingOptions):
        self.options = options

    def __call__(self, model: Seq2seq, enc: EncoderOutput) -> list[list[int]]:
        decoder = model.decoder
        batch = enc.outputs.size(0)
        device = enc.outputs.device
        token = torch.full((batch, 1), decoder.sos_id, dtype=torch.long, device=device)
        finished = torch.zeros(batch, dtype=torch.bool, device=device)
        state, steps = DecoderState(enc.hidden), []
        context = enc.outputs.float()  # the attention reads it in float32: cast once, not at every step
        limits = [step_limit(self.options, frames) for frames in enc.lengths.tolist()]
        ended = torch.tensor(limits, device=device)  # a row whose limit is reached counts as finished
        for step in range(max(limits)):
            logits, state = decoder.forward_step(token, state, context, enc.mask)
            token = logits.argmax(-1)
            steps.append(token)
            finished |= (token.squeeze(1) == decoder.eos_id) | (ended <= step + 1)
            if bool(finished.all()):
                break
        return [_until_eos(row[:limit], decoder.eos_id)
                for row, limit in zip(torch.cat(steps, dim=1).tolist(), limits)]


class BeamSearchDecoder:
    """Keeps the ``beam_size`` best prefixes of each utterance by summed log-probability.

    Utterances are searched one at a time, their beams batched; a hypothesis ends at ``</s>`` and is ranked by
    its score divided by ``length ** length_penalty``. With ``beam_size`` 1 it returns the greedy result.
    """

    def __init__(self, options: DecodingOptions):
        self.options = options

    def __call__(self, model: Seq2seq, enc: EncoderOutput) -> list[list[int]]:
        results = []
        for i in range(enc.outputs.size(0)):
            one = EncoderOutput(enc.outputs[i: i + 1], enc.lengths[i: i + 1], enc.mask[i: i + 1],
                                enc.hidden[:, i: i + 1])
            finished = self._search(model, one)
            if self.options.ctc_weight > 0 and model.ctc is not None:
                finished = self._rescore(model, one, finished)
            results.append(max(finished, key=lambda item: item[0])[1])
        return results

    def _rescore(self, model: Seq2seq, enc: EncoderOutput, finished: list[tuple[float, list[int]]]
                 ) -> list[tuple[float, list[int]]]:
        """Mix each hypothesis' attention score with its CTC log-probability (the whole sequence's)."""
        log_probs = torch.log_softmax(model.ctc(enc.outputs).float(), -1)[0]  # (T', V)
        frames = int(enc.lengths[0])
        w = self.options.ctc_weight
        mixed = []
        for score, ids in finished:
            if not ids:
                ctc = -math.inf
            else:
                ctc = -float(F.ctc_loss(log_probs[:frames].unsqueeze(1), torch.tensor([ids]), [frames], [len(ids)],
                                        blank=BLANK_ID, reduction="sum", zero_infinity=False))
            mixed.append(((1 - w) * score + w * ctc, ids))
        return mixed

    def _rank(self, score: float, length: int) -> float:
        return score / max(length, 1) ** self.options.length_penalty

    def _search(self, model: Seq2seq, enc: EncoderOutput) -> list[tuple[float, list[int]]]:
        """Every finished hypothesis as (ranking score, ids)."""
        decoder, k = model.decoder, self.options.beam_size
        device = enc.outputs.device
        prefixes: list[list[int]] = [[]]
        scores = torch.zeros(1, device=device)
        state = DecoderState(enc.hidden)
        finished: list[tuple[float, list[int]]] = []
        context = enc.outputs.float()  # the attention reads it in float32: cast once, not at every step
        for _ in range(step_limit(self.options, int(enc.lengths[0]))):
            n = len(prefixes)
            last = [p[-1] if p else decoder.sos_id for p in prefixes]
            token = torch.tensor(last, dtype=torch.long, device=device).unsqueeze(1)
            logits, state = decoder.forward_step(token, state, context.expand(n, -1, -1),
                                                 enc.mask.expand(n, -1))
            candidates = (scores.unsqueeze(1) + torch.log_softmax(logits[:, 0].float(), dim=-1)).flatten()
            top_scores, top_index = candidates.topk(min(k, candidates.numel()))
            vocab = logits.size(-1)
            keep_rows, keep_prefixes, keep_scores = [], [], []
            for score, index in zip(top_scores.tolist(), top_index.tolist()):
                row, tok = divmod(index, vocab)
                if tok == decoder.eos_id:
                    finished.append((self._rank(score, len(prefixes[row]) + 1), prefixes[row]))
                else:
                    keep_rows.append(row)
                    keep_prefixes.append(prefixes[row] + [tok])
                    keep_scores.append(score)
            if len(finished) >= k or not keep_rows:
                break
            rows = torch.tensor(keep_rows, dtype=torch.long, device=device)
            prefixes, scores, state = keep_prefixes, torch.tensor(keep_scores, device=device), state.select(rows)
        else:  # the step limit reached: the unfinished prefixes compete too
            finished.extend((self._rank(s, len(p)), p) for s, p in zip(scores.tolist(), prefixes))
        return finished


class CTCGreedyDecoder:
    """The most likely label of each frame, repeats merged and blanks dropped (never more than the frames)."""

    def __init__(self, options: DecodingOptions):
        self.options = options

    def __call__(self, model: Seq2seq, enc: EncoderOutput) -> list[list[int]]:
        best = model.ctc(enc.outputs).argmax(-1).tolist()
        results = []
        for row, frames in zip(best, enc.lengths.tolist()):
            ids = [t for i, t in enumerate(row[:frames]) if t != BLANK_ID and (i == 0 or t != row[i - 1])]
            results.append(ids[: step_limit(self.options, frames)])
        return results


class CTCPrefixBeamDecoder:
    """CTC prefix beam search: keeps the ``beam_size`` best label prefixes, each with the probability of the
    frames so far ending in a blank and not ending in one; an n-gram LM (``lm_weight``) and a per-label bonus
    (``length_bonus``) join the ranking each time a prefix grows."""

    def __init__(self, options: DecodingOptions, lm: NgramLM | None, units: tuple[str, ...]):
        self.options, self.lm, self.units = options, lm, units

    def __call__(self, model: Seq2seq, enc: EncoderOutput) -> list[list[int]]:
        log_probs = torch.log_softmax(model.ctc(enc.outputs).float(), -1).cpu()
        return [self._search(log_probs[i, :frames]) for i, frames in enumerate(enc.lengths.tolist())]

    def _extension(self, prefix: tuple[int, ...], label: int) -> float:
        bonus = self.options.length_bonus
        if self.lm is None or self.options.lm_weight == 0:
            return bonus
        text = "".join(self.units[i] for i in prefix)
        return bonus + self.options.lm_weight * self.lm.log_prob(text, self.units[label])

    def _search(self, log_probs: torch.Tensor) -> list[int]:
        k = self.options.beam_size
        # prefix -> [log P(ends in blank), log P(ends in a label), sum of LM/bonus terms]
        beams: dict[tuple[int, ...], list[float]] = {(): [0.0, -math.inf, 0.0]}
        top = min(k + 1, log_probs.size(1))
        for frame in log_probs.detach():
            candidates = frame.topk(top).indices.tolist()
            scores = frame.tolist()
            if BLANK_ID not in candidates:
                candidates.append(BLANK_ID)
            grown: dict[tuple[int, ...], list[float]] = {}

            def entry(prefix: tuple[int, ...], extra: float, grown: dict = grown) -> list[float]:
                return grown.setdefault(prefix, [-math.inf, -math.inf, extra])

            for prefix, (blank, label, extra) in beams.items():
                total = _logaddexp(blank, label)
                for c in candidates:
                    p = scores[c]
                    if c == BLANK_ID:
                        e = entry(prefix, extra)
                        e[0] = _logaddexp(e[0], total + p)
                        continue
                    if prefix and c == prefix[-1]:
                        e = entry(prefix, extra)  # a repeat without a blank between merges into the same label
                        e[1] = _logaddexp(e[1], label + p)
                        e = entry(prefix + (c,), extra + self._extension(prefix, c))
                        e[1] = _logaddexp(e[1], blank + p)
                    else:
                        e = entry(prefix + (c,), extra + self._extension(prefix, c))
                        e[1] = _logaddexp(e[1], total + p)
            ranked = sorted(grown.items(), key=lambda item: _logaddexp(item[1][0], item[1][1]) + item[1][2],
                            reverse=True)
            beams = dict(ranked[:k])

        def final(item: tuple[tuple[int, ...], list[float]]) -> float:
            prefix, (blank, label, extra) = item
            end = 0.0
            if self.lm is not None and self.options.lm_weight:
                end = self.options.lm_weight * self.lm.log_prob("".join(self.units[i] for i in prefix), "")
            return _logaddexp(blank, label) + extra + end

        return list(max(beams.items(), key=final)[0])[: step_limit(self.options, log_probs.size(0))]


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _until_eos(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


Decoder = GreedyDecoder | BeamSearchDecoder | CTCGreedyDecoder | CTCPrefixBeamDecoder


def decoder_for(model: Seq2seq, options: DecodingOptions, lm: NgramLM | None = None,
                units: tuple[str, ...] = ()) -> Decoder:
    """The strategy for this model and these options: attention decoding when the model has a decoder."""
    if model.decoder is not None:
        return GreedyDecoder(options) if options.beam_size == 1 else BeamSearchDecoder(options)
    if options.beam_size == 1 and lm is None:
        return CTCGreedyDecoder(options)
    return CTCPrefixBeamDecoder(options, lm, units)


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no gradients for the block; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def decode(model: Seq2seq, feats: torch.Tensor, lengths: torch.Tensor | None,
           options: DecodingOptions = DecodingOptions(), lm: NgramLM | None = None,
           units: tuple[str, ...] = ()) -> list[list[int]]:
    """Features ``(B, T, F)`` (valid ``lengths (B,)``, None when unpadded) -> token ids per utterance.

    ``lm`` (over the label table's characters ``units``) is used by CTC prefix beam search. Runs in eval mode
    (and restores the model's mode); the caller chooses the precision context.
    """
    with evaluating(model):
        return decoder_for(model, options, lm, units)(model, model.encode(feats, lengths))
