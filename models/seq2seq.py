"""Seq2seq: EncoderRNN + DecoderRNN, and building it from a ``ModelConfig``."""

from __future__ import annotations

import torch
from torch import nn

from models.config import ModelConfig
from models.decoder import DecoderRNN
from models.encoder import EncoderRNN


class Seq2seq(nn.Module):
    def __init__(self, encoder: EncoderRNN, decoder: DecoderRNN):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def flatten_parameters(self) -> None:
        self.encoder.rnn.flatten_parameters()
        self.decoder.rnn.flatten_parameters()

    def forward(self, input_variable: torch.Tensor, input_lengths: torch.Tensor | None = None,
                target_variable: torch.Tensor | None = None, teacher_forcing_ratio: float = 0.0) -> torch.Tensor:
        """Features ``(B, T, F)`` -> logits ``(B, L, V)``.

        ``target_variable`` is ``<s>`` + ids + ``</s>`` padded, ``(B, L+1)``. Teacher forcing is drawn once per
        batch with probability ``teacher_forcing_ratio``, as in the seed.
        """
        outputs, hidden, lengths = self.encoder(input_variable, input_lengths)
        mask = torch.arange(outputs.size(1), device=outputs.device)[None, :] < lengths[:, None]
        if self.encoder.rnn.bidirectional:
            # (layers*2, B, H) -> (layers, B, 2H): both directions of a layer feed the decoder's layer.
            hidden = torch.cat([hidden[0::2], hidden[1::2]], dim=2)
        teacher_forcing = target_variable is not None and bool(torch.rand(()) < teacher_forcing_ratio)
        return self.decoder(target_variable, hidden, outputs, mask, teacher_forcing)


def build_model(config: ModelConfig) -> Seq2seq:
    """The seed's construction: the decoder is as wide as the (possibly bidirectional) encoder output."""
    encoder = EncoderRNN(config.feature_size, config.hidden_size, input_dropout_p=config.dropout,
                         dropout_p=config.dropout, n_layers=config.layer_size, bidirectional=config.bidirectional)
    decoder_size = config.hidden_size * (2 if config.bidirectional else 1)
    decoder = DecoderRNN(config.vocab_size, config.max_len, decoder_size, config.sos_id, config.eos_id,
                         n_layers=config.layer_size, input_dropout_p=config.dropout, dropout_p=config.dropout,
                         use_attention=config.use_attention)
    model = Seq2seq(encoder, decoder)
    for param in model.parameters():
        # The seed initialised every weight uniformly in [-0.08, 0.08] (IBM's recipe).
        param.data.uniform_(-0.08, 0.08)
    return model
