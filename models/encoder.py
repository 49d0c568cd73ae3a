"""EncoderRNN: the seed's two-layer convolutional front end followed by a multi-layer GRU."""

from __future__ import annotations

import torch
from torch import nn

from speech_kit.rnn import run_gru

CONV_CHANNELS = 32  # the seed's; the second convolution is most of the model's work, so small tasks use fewer


class EncoderRNN(nn.Module):
    """Spectrogram ``(B, T, F)`` -> outputs ``(B, T', H·dirs)`` and GRU hidden ``(layers·dirs, B, H)``.

    The convolutions halve time twice and frequency once (257 bins -> 129), so the GRU sees
    ``32 · 129 = 4128`` features per frame, as the seed printed. The GRU runs over the padded batch
    (``speech_kit.rnn.run_gru``): each utterance's outputs and final state are those of packing it, so an utterance
    encodes the same alone or in a padded batch, without packing's per-frame cost on the CPU.
    """

    def __init__(self, feature_size: int, hidden_size: int, input_dropout_p: float = 0.0, dropout_p: float = 0.0,
                 n_layers: int = 1, bidirectional: bool = False, conv_channels: int = CONV_CHANNELS):
        super().__init__()
        self.input_dropout = nn.Dropout(p=input_dropout_p)
        self.conv = nn.Sequential(
            nn.Conv2d(1, conv_channels, kernel_size=(41, 11), stride=(2, 2), padding=(20, 5)),
            nn.BatchNorm2d(conv_channels),
            nn.Hardtanh(0, 20, inplace=True),
            nn.Conv2d(conv_channels, conv_channels, kernel_size=(21, 11), stride=(2, 1), padding=(10, 5)),
            nn.BatchNorm2d(conv_channels),
            nn.Hardtanh(0, 20, inplace=True),
        )
        conv_freq = (feature_size - 1) // 2 + 1
        self.rnn = nn.GRU(conv_channels * conv_freq, hidden_size, n_layers, batch_first=True,
                          bidirectional=bidirectional, dropout=dropout_p if n_layers > 1 else 0.0)

    def forward(self, input_var: torch.Tensor, input_lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(outputs, hidden, output_lengths)``; ``input_lengths=None`` means no padding.

        After each convolution block the frames past an utterance's end are zeroed, which is what the convolution
        pads a lone utterance with: an utterance encodes exactly the same alone or in a padded batch (in eval
        mode; in training, batch normalisation's statistics still see the batch).
        """
        x = input_var.unsqueeze(1)  # (B, 1, T, F)
        lengths = input_lengths.cpu() if input_lengths is not None else None
        for layer in self.conv:
            x = layer(x)
            if lengths is not None and isinstance(layer, nn.Hardtanh):
                lengths = (lengths - 1) // 2 + 1  # each block's convolution has time stride 2
                valid = torch.arange(x.size(2), device=x.device)[None, :] < lengths.to(x.device)[:, None]
                x = x * valid.to(x.dtype).view(-1, 1, x.size(2), 1)
        b, c, t, f = x.shape  # (B, C, T', F')
        x = self.input_dropout(x.transpose(1, 2).reshape(b, t, c * f))
        lengths = torch.full((b,), t, dtype=torch.long) if lengths is None else lengths.clamp(max=t)
        outputs, hidden = run_gru(self.rnn, x, lengths)
        return outputs, hidden, lengths.to(outputs.device)
