"""The model's architecture: everything needed to rebuild it from a checkpoint, and nothing else.

Run-time options live elsewhere so they may change between training, fork and submit: dropout in
``speech_kit.train.TrainConfig``, the longest transcript in ``models.decoding.DecodingOptions``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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
    # (time, frequency) kernels of the two front-end convolutions, odd sizes; the seed's 41x11 and 21x11
    conv_kernels: tuple[tuple[int, int], tuple[int, int]] = ((41, 11), (21, 11))

    def __post_init__(self) -> None:
        if not (self.decoder or self.ctc):
            raise ValueError("a model needs a decoder, a CTC layer or both")
        kernels = tuple(tuple(int(k) for k in kernel) for kernel in self.conv_kernels)  # JSON gives lists
        if len(kernels) != 2 or any(len(k) != 2 or k[0] < 1 or k[1] < 1 or k[0] % 2 == 0 or k[1] % 2 == 0
                                    for k in kernels):
            raise ValueError(f"conv_kernels must be two (time, frequency) pairs of odd sizes, got {self.conv_kernels}")
        object.__setattr__(self, "conv_kernels", kernels)

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
