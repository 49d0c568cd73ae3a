"""Decoding: encoder output -> token ids, by interchangeable strategies chosen from one options object.

``decode(model, feats, lengths, options)`` encodes a batch once and hands it to the strategy the options name:
``GreedyDecoder`` (argmax at every step, the seed's inference) or ``BeamSearchDecoder`` (``beam_size`` > 1).
Both drive ``DecoderRNN.forward_step`` and stop at ``</s>`` or ``max_len``; results are ids without ``<s>``/``</s>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.seq2seq import EncoderOutput, Seq2seq


@dataclass(frozen=True)
class DecodingOptions:
    """How to turn encoder output into text; none of these are part of the model, so each may change freely.

    ``max_len``: most tokens per utterance (the seed's ``--max_len``). ``beam_size``: 1 is greedy.
    ``length_penalty``: beam scores are divided by ``length ** length_penalty`` (0: raw log-probabilities).
    """

    max_len: int = 80
    beam_size: int = 1
    length_penalty: float = 0.0

    def __post_init__(self) -> None:
        if self.max_len < 1:
            raise ValueError(f"max_len must be at least 1, got {self.max_len}")
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be at least 1, got {self.beam_size}")
        if self.length_penalty < 0:
            raise ValueError(f"length_penalty must be non-negative, got {self.length_penalty}")


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
        hidden, steps = enc.hidden, []
        for _ in range(self.options.max_len):
            logits, hidden = decoder.forward_step(token, hidden, enc.outputs, enc.mask)
            token = logits.argmax(-1)
            steps.append(token)
            finished |= token.squeeze(1) == decoder.eos_id
            if bool(finished.all()):
                break
        return [_until_eos(row, decoder.eos_id) for row in torch.cat(steps, dim=1).tolist()]


class BeamSearchDecoder:
    """Keeps the ``beam_size`` best prefixes of each utterance by summed log-probability.

    Utterances are searched one at a time, their beams batched; a hypothesis ends at ``</s>`` and is ranked by
    its score divided by ``length ** length_penalty``. With ``beam_size`` 1 it returns the greedy result.
    """

    def __init__(self, options: DecodingOptions):
        self.options = options

    def __call__(self, model: Seq2seq, enc: EncoderOutput) -> list[list[int]]:
        return [self._search(model, EncoderOutput(enc.outputs[i: i + 1], enc.lengths[i: i + 1], enc.mask[i: i + 1],
                                                  enc.hidden[:, i: i + 1]))
                for i in range(enc.outputs.size(0))]

    def _rank(self, score: float, length: int) -> float:
        return score / max(length, 1) ** self.options.length_penalty

    def _search(self, model: Seq2seq, enc: EncoderOutput) -> list[int]:
        decoder, k = model.decoder, self.options.beam_size
        device = enc.outputs.device
        prefixes: list[list[int]] = [[]]
        scores = torch.zeros(1, device=device)
        hidden = enc.hidden
        finished: list[tuple[float, list[int]]] = []
        for _ in range(self.options.max_len):
            n = len(prefixes)
            last = [p[-1] if p else decoder.sos_id for p in prefixes]
            token = torch.tensor(last, dtype=torch.long, device=device).unsqueeze(1)
            logits, hidden = decoder.forward_step(token, hidden, enc.outputs.expand(n, -1, -1),
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
            prefixes, scores, hidden = keep_prefixes, torch.tensor(keep_scores, device=device), hidden[:, rows]
        else:  # max_len reached: the unfinished prefixes compete too
            finished.extend((self._rank(s, len(p)), p) for s, p in zip(scores.tolist(), prefixes))
        return max(finished, key=lambda item: item[0])[1]


def _until_eos(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids


def decoder_for(options: DecodingOptions) -> GreedyDecoder | BeamSearchDecoder:
    """The strategy the options ask for."""
    return GreedyDecoder(options) if options.beam_size == 1 else BeamSearchDecoder(options)


@torch.no_grad()
def decode(model: Seq2seq, feats: torch.Tensor, lengths: torch.Tensor | None,
           options: DecodingOptions = DecodingOptions()) -> list[list[int]]:
    """Features ``(B, T, F)`` (valid ``lengths (B,)``, None when unpadded) -> token ids per utterance.

    Runs in eval mode (and restores the model's mode); the caller chooses the precision context.
    """
    was_training = model.training
    model.eval()
    try:
        return decoder_for(options)(model, model.encode(feats, lengths))
    finally:
        model.train(was_training)
