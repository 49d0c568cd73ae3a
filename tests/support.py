"""What every test module shares: the repository root and a real wav writer.

Fixtures stay in ``conftest.py``; helpers live here (and in the ``*_support.py`` modules of each area) so test
modules import them by name rather than from ``conftest``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def write_tone(path: Path, seconds: float = 0.5, rate: int = 16000, channels: int = 1, subtype: str = "PCM_16",
               freq: float = 440.0, seed: int = 0) -> Path:
    """A tone plus a little noise, so every spectrogram bin is non-zero."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.shape)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    sf.write(path, data, rate, subtype=subtype)
    return path
