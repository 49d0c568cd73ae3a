"""The 2019 baseline's way of doing each stage, reproduced so that every benchmark measures it in the same run.

Each function does the work the seed's code did, with the seed's choices that cost time:

- ``seed_feature``: the wav read as 16-bit integers with the standard library into a fresh array (the seed's
  bundled ``wavio``), one STFT per file, the magnitude computed from the real and imaginary parts, the
  ``(frames, 257)`` result the transpose of the ``(257, frames)`` magnitude, as the seed returned it.
- ``seed_collate``: zero-padded features and ``PAD``-filled targets, one utterance at a time.
- ``seed_train_step``: the model's modules run as the seed ran them: convolutions over the padding (no mask), the
  GRU over the padded batch (no packing) straight from the convolutions (the seed's encoder built an input
  dropout and never applied it), attention over every frame; the decoder's log-probabilities one ``(B, V)``
  tensor per step, stacked (``seed_decode``), into a summed cross-entropy (the seed's loss), back-propagated as a
  sum; the batch's argmax CER read element by element, as the seed logged it.
- ``seed_infer``: one file at a time, without ``torch.no_grad`` (the seed's ``infer`` had none), the decoder
  run for all ``max_len`` steps (IBM's decoder did not stop at ``</s>``), log-softmax at every step.

The model is the project's ``Seq2seq`` (the same parameters, 16.6 M at the seed's settings); only the way it is
run differs. The seed's torch 1.x calls that torch 2 refuses are replaced by their equivalents. Left out, as free
on a CPU: ``DataParallel`` (with no GPU it calls the model directly) and the seed's ``flatten_parameters`` calls
at every decoder step (they return at once for CPU weights). ``benchmarks.original`` runs the seed's own code on
the same batches (``python -m benchmarks.train_step --original DIR``), to check that this costs what it does.
"""

from __future__ import annotations

import random
import wave
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models import Seq2seq
from models.decoder import DecoderRNN, DecoderState
from speech_kit.features import HOP_LENGTH, N_FFT, WIN_LENGTH
from speech_kit.objectives import character_errors
from speech_kit.vocab import Vocab


def seed_feature(path: str) -> torch.Tensor:
    """The seed's ``get_spectrogram_feature``: ``(frames, 257)`` STFT magnitude, the transpose of the
    ``(257, frames)`` one (contiguous after all: torch lays the STFT out frame by frame)."""
    with wave.open(path, "rb") as wav:
        raw = wav.readframes(wav.getnframes())
    sig = np.frombuffer(raw, dtype="<i2").copy()  # the seed's wavio copied the bytes into an int16 array
    stft = torch.stft(torch.FloatTensor(sig), N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH,
                      window=torch.hamming_window(WIN_LENGTH), center=False, normalized=False, onesided=True,
                      return_complex=True)
    stft = torch.view_as_real(stft)
    stft = (stft[:, :, 0].pow(2) + stft[:, :, 1].pow(2)).pow(0.5)
    amag = stft.numpy()
    feat = torch.FloatTensor(amag)
    return torch.FloatTensor(feat).transpose(0, 1)


def seed_collate(batch: Sequence[tuple[torch.Tensor, list[int]]], pad_id: int
                 ) -> tuple[torch.Tensor, torch.Tensor, list[int], list[int]]:
    """The seed's ``_collate_fn``: ``(B, T, F)`` zero-padded features, ``(B, L)`` targets, lengths as lists."""
    seq_lengths = [len(s[0]) for s in batch]
    target_lengths = [len(s[1]) for s in batch]
    max_seq = max(batch, key=lambda s: s[0].size(0))[0]
    max_target = max(target_lengths)
    seqs = torch.zeros(len(batch), max_seq.size(0), max_seq.size(1))
    targets = torch.zeros(len(batch), max_target).to(torch.long)
    targets.fill_(pad_id)
    for x, (tensor, target) in enumerate(batch):
        seqs[x].narrow(0, 0, tensor.size(0)).copy_(tensor)
        targets[x].narrow(0, 0, len(target)).copy_(torch.LongTensor(target))
    return seqs, targets, seq_lengths, target_lengths


def seed_encode(model: Seq2seq, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T, F)`` -> GRU outputs ``(B, T', H)`` and hidden ``(layers, B, H)``, padding included everywhere.

    No input dropout: the seed's ``EncoderRNN`` inherited one from IBM's ``BaseRNN`` (its model summary shows it)
    but fed the convolutions' output to the GRU as it was. Applying it here cost a random mask over
    ``B x T' x 4128`` values, forward and backward, that the seed never computed: a few per cent of a step at the
    seed's settings, and a shift of every later dropout mask.
    """
    encoder = model.encoder
    x = encoder.conv(feats.unsqueeze(1))
    b, c, t, f = x.shape
    return encoder.rnn(x.transpose(1, 2).contiguous().view(b, t, c * f))


def _seed_symbols(step: torch.Tensor, index: int, eos_id: int, lengths: np.ndarray) -> torch.Tensor:
    """IBM's per-step ``decode()``: the top label ``(B, 1)`` of a step's log-probabilities, and the output length
    of each utterance whose first ``</s>`` this is, kept on numpy (the seed never read them in training)."""
    symbols = step.topk(1)[1]
    ended = symbols.eq(eos_id).view(-1).numpy()
    lengths[(lengths > index) & ended] = index + 1
    return symbols


def _free_running(decoder: DecoderRNN, token: torch.Tensor, state: DecoderState, outputs: torch.Tensor,
                  steps: int) -> list[torch.Tensor]:
    """``steps`` decoder steps, each fed the last one's top label: log-probabilities ``(B, V)`` per step."""
    lengths = np.full(token.size(0), steps)
    out = []
    for index in range(steps):
        logits, state = decoder.forward_step(token, state, outputs, None)
        out.append(F.log_softmax(logits.squeeze(1), dim=-1))
        token = _seed_symbols(out[-1], index, decoder.eos_id, lengths)
    return out


def seed_decode(model: Seq2seq, targets: torch.Tensor, hidden: torch.Tensor, outputs: torch.Tensor,
                teacher_forcing: bool) -> torch.Tensor:
    """The seed's decoder pass in training: log-probabilities ``(B, L, V)`` for ``targets (B, L+1)``.

    IBM's decoder returned a list of ``(B, V)`` steps and ``main.py`` stacked it. With teacher forcing the whole
    target prefix ran in one step and was then cut into per-step views; stacking those back makes the backward
    pass build one full ``(B, L, V)`` gradient per step and add them up. Without it the decoder ran ``L`` steps,
    each fed the previous step's top label. Either way each step took its top label and checked it for
    ``</s>``.
    """
    decoder = model.decoder
    state = DecoderState(hidden)
    if not teacher_forcing:
        return torch.stack(_free_running(decoder, targets[:, :1], state, outputs, targets.size(1) - 1), dim=1)
    logits, _ = decoder.forward_step(targets[:, :-1], state, outputs, None)
    logp = F.log_softmax(logits, dim=-1)
    lengths = np.full(logp.size(0), logp.size(1))
    steps = [logp[:, index] for index in range(logp.size(1))]
    for index, step in enumerate(steps):
        _seed_symbols(step, index, decoder.eos_id, lengths)
    return torch.stack(steps, dim=1)


def _seed_ids(rows: torch.Tensor, eos_id: int) -> list[list[int]]:
    """Label ids per row up to ``</s>``, read as the seed's ``label_to_string`` read them: one ``.item()`` per
    element of the tensor."""
    out = []
    for row in rows:
        ids = []
        for element in row:
            if element.item() == eos_id:
                break
            ids.append(element.item())
        out.append(ids)
    return out


def seed_train_step(model: Seq2seq, optimizer: torch.optim.Optimizer, vocab: Vocab, feats: torch.Tensor,
                    targets: torch.Tensor, teacher_forcing_ratio: float, rng: random.Random) -> float:
    """One training step as the seed's ``train``: returns the summed loss per target token (for a sanity check)."""
    model.train()
    criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=vocab.pad_id)
    optimizer.zero_grad()
    target = targets[:, 1:]
    model.flatten_parameters()
    outputs, hidden = seed_encode(model, feats)
    teacher_forcing = rng.random() < teacher_forcing_ratio
    logit = seed_decode(model, targets, hidden, outputs, teacher_forcing)
    y_hat = logit.max(-1)[1]
    loss = criterion(logit.contiguous().view(-1, logit.size(-1)), target.contiguous().view(-1))
    total = loss.item()
    character_errors(vocab.decode, _seed_ids(y_hat, vocab.eos_id), _seed_ids(target, vocab.eos_id))
    loss.backward()
    optimizer.step()
    return total / max(int((target != vocab.pad_id).sum()), 1)


def seed_infer(model: Seq2seq, vocab: Vocab, path: str, max_len: int = 80) -> str:
    """The seed's ``infer(wav_path)``: one file, eval mode, no ``no_grad``, ``max_len`` decoder steps always."""
    model.eval()
    feats = seed_feature(path).unsqueeze(0)
    outputs, hidden = seed_encode(model, feats)
    decoder = model.decoder
    token = torch.full((1, 1), decoder.sos_id, dtype=torch.long)
    logit = torch.stack(_free_running(decoder, token, DecoderState(hidden), outputs, max_len), dim=1)
    return vocab.decode(_seed_ids(logit.max(-1)[1], decoder.eos_id)[0])
