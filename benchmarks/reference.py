"""The 2019 baseline's way of doing each stage, reproduced so that every benchmark measures it in the same run.

Each function does the work the seed's code did, with the seed's choices that cost time:

- ``seed_feature``: the wav read as 16-bit integers with the standard library (the seed's ``wavio``), one STFT
  per file, the magnitude computed from the real and imaginary parts, the ``(frames, 257)`` result a transposed
  view, as the seed returned it.
- ``seed_collate``: zero-padded features and ``PAD``-filled targets, one utterance at a time.
- ``seed_train_step``: the model's modules run as the seed ran them: convolutions over the padding (no mask), the
  GRU over the padded batch (no packing), attention over every frame; log-softmax outputs into a summed
  cross-entropy (the seed's loss), back-propagated as a sum; the batch's argmax CER, as the seed logged it.
- ``seed_infer``: one file at a time, without ``torch.no_grad`` (the seed's ``infer`` had none), the decoder
  run for all ``max_len`` steps (IBM's decoder did not stop at ``</s>``), log-softmax at every step.

The model is the project's ``Seq2seq`` (the same parameters, 16.6 M at the seed's settings); only the way it is
run differs. The seed's torch 1.x calls that torch 2 refuses are replaced by their equivalents.
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
from models.decoder import DecoderState
from speech_kit.features import HOP_LENGTH, N_FFT, WIN_LENGTH
from speech_kit.objectives import character_errors
from speech_kit.vocab import Vocab


def seed_feature(path: str) -> torch.Tensor:
    """The seed's ``get_spectrogram_feature``: ``(frames, 257)`` STFT magnitude, a transposed (strided) view."""
    with wave.open(path, "rb") as wav:
        raw = wav.readframes(wav.getnframes())
    sig = np.frombuffer(raw, dtype="<i2").astype(np.int32).ravel()  # wavio returns a wider integer array
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
    """``(B, T, F)`` -> GRU outputs ``(B, T', H)`` and hidden ``(layers, B, H)``, padding included everywhere."""
    encoder = model.encoder
    x = encoder.conv(feats.unsqueeze(1))
    b, c, t, f = x.shape
    x = encoder.input_dropout(x.transpose(1, 2).contiguous().view(b, t, c * f))
    return encoder.rnn(x)


def seed_train_step(model: Seq2seq, optimizer: torch.optim.Optimizer, vocab: Vocab, feats: torch.Tensor,
                    targets: torch.Tensor, teacher_forcing_ratio: float, rng: random.Random) -> float:
    """One training step as the seed's ``train``: returns the summed loss per target token (for a sanity check)."""
    model.train()
    criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=vocab.pad_id)
    outputs, hidden = seed_encode(model, feats)
    teacher_forcing = rng.random() < teacher_forcing_ratio
    logit = F.log_softmax(model.decoder(targets, hidden, outputs, None, teacher_forcing), dim=-1)
    target = targets[:, 1:]
    loss = criterion(logit.contiguous().view(-1, logit.size(-1)), target.contiguous().view(-1))
    character_errors(vocab.decode, logit.max(-1)[1].tolist(), target.tolist())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item() / max(int((target != vocab.pad_id).sum()), 1)


def seed_infer(model: Seq2seq, vocab: Vocab, path: str, max_len: int = 80) -> str:
    """The seed's ``infer(wav_path)``: one file, eval mode, no ``no_grad``, ``max_len`` decoder steps always."""
    model.eval()
    feats = seed_feature(path).unsqueeze(0)
    outputs, hidden = seed_encode(model, feats)
    decoder = model.decoder
    token = torch.full((1, 1), decoder.sos_id, dtype=torch.long)
    steps, state = [], DecoderState(hidden)
    for _ in range(max_len):
        logits, state = decoder.forward_step(token, state, outputs, None)
        step = F.log_softmax(logits, dim=-1)
        token = step.topk(1)[1].squeeze(-1)
        steps.append(token)
    ids = torch.cat(steps, dim=1)[0].tolist()
    return vocab.decode(ids[: ids.index(decoder.eos_id)] if decoder.eos_id in ids else ids)
