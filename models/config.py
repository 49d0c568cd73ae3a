"""The model's configuration: everything needed to rebuild it from a checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    sos_id: int
    eos_id: int
    feature_size: int = 257
    hidden_size: int = 512
    layer_size: int = 3
    dropout: float = 0.2
    bidirectional: bool = False
    use_attention: bool = False
    max_len: int = 80

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model configuration keys {unknown}")
        return cls(**values)

    def differences(self, other: "ModelConfig") -> list[str]:
        """``name: mine != theirs`` for every field that differs (for mismatch messages)."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {a[k]!r} != {b[k]!r}" for k in a if a[k] != b[k]]
