"""EncoderRNN: the seed's two-layer convolutional front end followed by a multi-layer GRU."""

from __future__ import annotations

import torch
from torch import nn

from models.config import CONV_KERNELS, CONV_TIME_STRIDES
from speech_kit.precision import autocast, full_precision, time_alternately
from speech_kit.rnn import run_gru

CONV_CHANNELS = 32  # the seed's; the second convolution is most of the model's work, so small tasks use fewer


class EncoderRNN(nn.Module):
    """Spectrogram ``(B, T, F)`` -> outputs ``(B, T', H·dirs)`` and GRU hidden ``(layers·dirs, B, H)``.

    The convolutions step through time by ``conv_time_strides`` (the seed's 2 and 2: a GRU frame per 40 ms) and
    halve frequency once (257 bins -> 129), so the GRU sees ``32 · 129 = 4128`` features per frame, as the seed
    printed. The GRU runs over the padded batch (``speech_kit.rnn.run_gru``): each utterance's outputs and final
    state are those of packing it, so an utterance encodes the same alone or in a padded batch, without packing's
    per-frame cost on the CPU.
    """

    def __init__(self, feature_size: int, hidden_size: int, input_dropout_p: float = 0.0, dropout_p: float = 0.0,
                 n_layers: int = 1, bidirectional: bool = False, conv_channels: int = CONV_CHANNELS,
                 conv_kernels: tuple[tuple[int, int], tuple[int, int]] = CONV_KERNELS,
                 conv_time_strides: tuple[int, int] = CONV_TIME_STRIDES):
        super().__init__()
        self.input_dropout = nn.Dropout(p=input_dropout_p)
        first, second = conv_kernels  # odd sizes, padded by half: the lengths below hold for any of them
        time_first, time_second = conv_time_strides
        self.conv = nn.Sequential(
            nn.Conv2d(1, conv_channels, kernel_size=first, stride=(time_first, 2),
                      padding=(first[0] // 2, first[1] // 2)),
            nn.BatchNorm2d(conv_channels),
            nn.Hardtanh(0, 20, inplace=True),
            nn.Conv2d(conv_channels, conv_channels, kernel_size=second, stride=(time_second, 1),
                      padding=(second[0] // 2, second[1] // 2)),
            nn.BatchNorm2d(conv_channels),
            nn.Hardtanh(0, 20, inplace=True),
        )
        self._feature_size = feature_size
        conv_freq = (feature_size - 1) // 2 + 1
        self.rnn = nn.GRU(conv_channels * conv_freq, hidden_size, n_layers, batch_first=True,
                          bidirectional=bidirectional, dropout=dropout_p if n_layers > 1 else 0.0)
        # "fp32": the convolutions compute in float32 even inside bf16 autocast (a runtime choice, never saved:
        # ``choose_precision``); None: they follow the surrounding precision context
        self.conv_precision: str | None = None

    def forward(self, input_var: torch.Tensor, input_lengths: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(outputs, hidden, output_lengths)``; ``input_lengths=None`` means no padding.

        After each convolution block the frames past an utterance's end are zeroed, which is what the convolution
        pads a lone utterance with: an utterance encodes exactly the same alone or in a padded batch (in eval
        mode; in training, batch normalisation's statistics still see the batch).
        """
        x = input_var.unsqueeze(1)  # (B, 1, T, F)
        lengths = input_lengths.cpu() if input_lengths is not None else None
        if self.conv_precision == "fp32":
            with full_precision(x.device):
                x, lengths = self._front_end(x.float(), lengths)
        else:
            x, lengths = self._front_end(x, lengths)
        b, c, t, f = x.shape  # (B, C, T', F')
        x = self.input_dropout(x.transpose(1, 2).reshape(b, t, c * f))
        lengths = torch.full((b,), t, dtype=torch.long) if lengths is None else lengths.clamp(max=t)
        outputs, hidden = run_gru(self.rnn, x, lengths)
        return outputs, hidden, lengths.to(outputs.device)

    def _front_end(self, x: torch.Tensor, lengths: torch.Tensor | None
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        for layer in self.conv:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):
                stride = layer.stride[0]  # this block's time stride
            elif lengths is not None and isinstance(layer, nn.Hardtanh):
                lengths = (lengths - 1) // stride + 1
                valid = torch.arange(x.size(2), device=x.device)[None, :] < lengths.to(x.device)[:, None]
                x = x * valid.to(x.dtype).view(-1, 1, x.size(2), 1)
        return x, lengths

    def choose_precision(self, device: torch.device | str, frames: int = 1000, repeats: int = 3
                         ) -> dict[str, float]:
        """Times a training pass (forward and backward) of the convolutions over ``frames`` frames of noise in
        bfloat16 autocast and in float32, keeps the faster in ``conv_precision`` and returns the median seconds
        of each. Why: under bf16 autocast a CPU's convolution kernels need not be faster. On an AMD EPYC with
        native bf16, the Russian model's 8-channel convolutions took twice as long forward and backward in
        bfloat16 as in float32, the Korean seed's 32 channels half as long (``docs/performance.md``).
        The weights, their gradients and the batch-norm statistics are left as they were."""
        saved = {name: value.clone() for name, value in self.conv.state_dict().items()}
        grads = [p.grad for p in self.conv.parameters()]
        utterances = max(1, frames // 250)
        x = torch.randn(utterances, 1, 250, self._feature_size, device=device)

        def pass_in(precision: str):
            def run() -> None:
                context = autocast(device, "bf16") if precision == "bf16" else full_precision(device)
                with context:
                    out = self.conv(x if precision == "bf16" else x.float())
                out.float().sum().backward()
            return run

        was_training = self.conv.training
        self.conv.train()
        try:
            seconds = time_alternately({p: pass_in(p) for p in ("bf16", "fp32")}, repeats)
        finally:
            self.conv.train(was_training)
            self.conv.load_state_dict(saved)
            for p, grad in zip(self.conv.parameters(), grads):
                p.grad = grad
        self.conv_precision = "fp32" if seconds["fp32"] < seconds["bf16"] else None
        return seconds
