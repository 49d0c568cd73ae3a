"""The model's architecture: everything needed to rebuild it from a checkpoint, and nothing else.

Run-time options live elsewhere so they may change between training, fork and submit: dropout in
``speech_kit.train.TrainConfig``, the longest transcript in ``models.decoding.DecodingOptions``.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields

# The seed's (time, frequency) kernels of the two front-end convolutions: 410 and 420 ms of context.
CONV_KERNELS = ((41, 11), (21, 11))


def check_conv_kernels(kernels) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two (time, frequency) pairs of odd sizes, as tuples (a checkpoint's JSON gives lists); else ValueError."""
    try:
        pairs = tuple(tuple(int(k) for k in kernel) for kernel in kernels)
    except (TypeError, ValueError):
        pairs = ()
    if len(pairs) != 2 or any(len(k) != 2 or min(k) < 1 or k[0] % 2 == 0 or k[1] % 2 == 0 for k in pairs):
        raise ValueError(f"conv_kernels must be two odd TIMExFREQUENCY kernels such as 41x11,21x11, got {kernels!r}")
    return pairs  # type: ignore[return-value]


def format_conv_kernels(kernels: tuple[tuple[int, int], ...]) -> str:
    """``((41, 11), (21, 11))`` -> ``"41x11,21x11"``, as ``--conv_kernels`` is typed."""
    return ",".join(f"{t}x{f}" for t, f in kernels)


def parse_conv_kernels(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``"41x11,21x11"`` -> ``((41, 11), (21, 11))``; an ``argparse`` type (its error is the option's message)."""
    try:
        return check_conv_kernels(pair.split("x") for pair in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not two odd TIMExFREQUENCY kernels such as 41x11,21x11") from None


# The seed's time strides of the two front-end convolutions: frames of 10 ms -> 40 ms for the GRUs.
CONV_TIME_STRIDES = (2, 2)


def check_conv_time_strides(strides) -> tuple[int, int]:
    """Two positive time strides, as a tuple (a checkpoint's JSON gives a list); else ValueError."""
    try:
        pair = tuple(int(s) for s in strides)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"conv_time_strides must be two positive time strides such as 2,2, got {strides!r}")
    return pair  # type: ignore[return-value]


def format_conv_time_strides(strides: tuple[int, int]) -> str:
    """``(2, 3)`` -> ``"2,3"``, as ``--conv_time_strides`` is typed."""
    return ",".join(str(s) for s in strides)


def parse_conv_time_strides(text: str) -> tuple[int, int]:
    """``"2,3"`` -> ``(2, 3)``; an ``argparse`` type (its error is the option's message)."""
    try:
        return check_conv_time_strides(text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not two positive time strides such as 2,2") from None


# Keys that checkpoints of the first format stored with the architecture; they are run-time options now.
RUNTIME_KEYS = ("dropout", "max_len")


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    sos_id: int
    eos_id: int
    feature_size: int = 257
    hidden_size: int = 512
    layer_size: int = 3
    bidirectional: bool = False
    use_attention: bool = False
    attention: str = "dot"  # with use_attention: "dot" (the seed's) or "location" (location-aware)
    decoder: bool = True  # the attention/GRU decoder (False: a CTC-only model)
    ctc: bool = False  # a CTC output layer over the encoder (label 0, the padding "_", is the blank)
    classes: int = 0  # an utterance-level classifier over the pooled encoder (e.g. speaker gender)
    conv_channels: int = 32  # channels of the two front-end convolutions (the seed's 32)
    conv_kernels: tuple[tuple[int, int], tuple[int, int]] = CONV_KERNELS  # (time, frequency), odd sizes
    conv_time_strides: tuple[int, int] = CONV_TIME_STRIDES  # their product is the GRUs' frame step in 10 ms

    def __post_init__(self) -> None:
        if not (self.decoder or self.ctc):
            raise ValueError("a model needs a decoder, a CTC layer or both")
        object.__setattr__(self, "conv_kernels", check_conv_kernels(self.conv_kernels))
        object.__setattr__(self, "conv_time_strides", check_conv_time_strides(self.conv_time_strides))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        values = {k: v for k, v in values.items() if k not in RUNTIME_KEYS}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model configuration keys {unknown}")
        return cls(**values)

    def differences(self, other: ModelConfig) -> list[str]:
        """``name: mine != theirs`` for every field that differs (for mismatch messages)."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {a[k]!r} != {b[k]!r}" for k in a if a[k] != b[k]]
