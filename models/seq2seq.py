"""Seq2seq: EncoderRNN + DecoderRNN, ``encode()`` for decoding strategies, and building it from a config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from models.config import ModelConfig
from models.decoder import DecoderRNN
from models.encoder import EncoderRNN


class EncoderOutput(NamedTuple):
    """What a decoder needs from the encoder.

    ``outputs (B, T', H)``, ``lengths (B,)`` valid frames per utterance, ``mask (B, T')`` True on valid frames, and
    ``hidden (layers, B, H)``, the decoder's initial state (both directions of a bidirectional layer concatenated).
    """

    outputs: torch.Tensor
    lengths: torch.Tensor
    mask: torch.Tensor
    hidden: torch.Tensor

    @staticmethod
    def join(parts: Sequence[EncoderOutput]) -> EncoderOutput:
        """One batch of the utterances of ``parts`` (in order), their outputs zero-padded to the longest ``T'``
        and masked there: decoding it gives each utterance what decoding its own part gives."""
        if len(parts) == 1:
            return parts[0]
        frames = max(part.outputs.size(1) for part in parts)
        return EncoderOutput(
            torch.cat([F.pad(part.outputs, (0, 0, 0, frames - part.outputs.size(1))) for part in parts]),
            torch.cat([part.lengths for part in parts]),
            torch.cat([F.pad(part.mask, (0, frames - part.mask.size(1))) for part in parts]),
            torch.cat([part.hidden for part in parts], dim=1))


class ModelOutput(NamedTuple):
    """Everything a training objective may need from one forward pass (absent heads are None).

    ``logits (B, L, V)`` of the decoder, ``ctc_logits (B, T', V)`` of the CTC layer over the encoder frames,
    ``lengths (B,)`` valid encoder frames, ``class_logits (B, C)`` of the utterance classifier.
    """

    logits: torch.Tensor | None
    ctc_logits: torch.Tensor | None
    lengths: torch.Tensor
    class_logits: torch.Tensor | None


class Seq2seq(nn.Module):
    """Encoder, and any of: attention decoder (the seed's), CTC layer, utterance classifier."""

    def __init__(self, encoder: EncoderRNN, decoder: DecoderRNN | None, ctc: nn.Linear | None = None,
                 classifier: nn.Linear | None = None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.ctc = ctc
        self.classifier = classifier

    def flatten_parameters(self) -> None:
        self.encoder.rnn.flatten_parameters()
        if self.decoder is not None:
            self.decoder.rnn.flatten_parameters()

    def encode(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> EncoderOutput:
        """Features ``(B, T, F)`` (``lengths (B,)``, None for no padding) -> ``EncoderOutput``."""
        outputs, hidden, out_lengths = self.encoder(feats, lengths)
        mask = torch.arange(outputs.size(1), device=outputs.device)[None, :] < out_lengths[:, None]
        if self.encoder.rnn.bidirectional:
            # (layers*2, B, H) -> (layers, B, 2H): both directions of a layer feed the decoder's layer.
            hidden = torch.cat([hidden[0::2], hidden[1::2]], dim=2)
        return EncoderOutput(outputs, out_lengths, mask, hidden)

    def pooled(self, enc: EncoderOutput) -> torch.Tensor:
        """Mean of the valid encoder frames: ``(B, H)``."""
        weights = enc.mask.to(enc.outputs.dtype).unsqueeze(2)
        return (enc.outputs * weights).sum(1) / weights.sum(1).clamp(min=1)

    def forward(self, input_variable: torch.Tensor, input_lengths: torch.Tensor | None,
                target_variable: torch.Tensor | None = None, teacher_forcing_ratio: float = 0.0,
                return_all: bool = False) -> torch.Tensor | ModelOutput:
        """Training and scoring pass: features ``(B, T, F)`` and targets ``(B, L+1)`` -> logits ``(B, L, V)``.

        ``target_variable`` is ``<s>`` + ids + ``</s>`` padded. Teacher forcing is drawn once per batch with
        probability ``teacher_forcing_ratio``, as in the seed; without it the decoder feeds back its own argmax
        for ``L`` steps. ``return_all`` returns a ``ModelOutput`` with every head's output (objectives use it,
        so DistributedDataParallel sees one forward call). Transcribing is ``models.decoding.decode``.
        """
        enc = self.encode(input_variable, input_lengths)
        logits = None
        if self.decoder is not None and target_variable is not None:
            teacher_forcing = bool(torch.rand(()) < teacher_forcing_ratio)
            logits = self.decoder(target_variable, enc.hidden, enc.outputs, enc.mask, teacher_forcing)
        if not return_all:
            return logits
        ctc_logits = self.ctc(enc.outputs) if self.ctc is not None else None
        class_logits = self.classifier(self.pooled(enc)) if self.classifier is not None else None
        return ModelOutput(logits, ctc_logits, enc.lengths, class_logits)


def build_model(config: ModelConfig, dropout: float = 0.0) -> Seq2seq:
    """The seed's construction: the decoder is as wide as the (possibly bidirectional) encoder output.

    ``dropout`` is a training option (the seed's default 0.2 comes from ``main.py``); it has no parameters, so a
    checkpoint loads into a model built with any dropout.
    """
    encoder = EncoderRNN(config.feature_size, config.hidden_size, input_dropout_p=dropout,
                         dropout_p=dropout, n_layers=config.layer_size, bidirectional=config.bidirectional,
                         conv_channels=config.conv_channels, conv_kernels=config.conv_kernels,
                         conv_time_strides=config.conv_time_strides)
    encoder_size = config.hidden_size * (2 if config.bidirectional else 1)
    decoder = DecoderRNN(config.vocab_size, encoder_size, config.sos_id, config.eos_id,
                         n_layers=config.layer_size, input_dropout_p=dropout, dropout_p=dropout,
                         use_attention=config.use_attention, attention=config.attention) if config.decoder else None
    ctc = nn.Linear(encoder_size, config.vocab_size) if config.ctc else None
    classifier = nn.Linear(encoder_size, config.classes) if config.classes else None
    model = Seq2seq(encoder, decoder, ctc, classifier)
    for param in model.parameters():
        # The seed initialised every weight uniformly in [-0.08, 0.08] (IBM's recipe).
        param.data.uniform_(-0.08, 0.08)
    return model
