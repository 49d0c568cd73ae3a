"""The hostile-input battery: every kind of broken or unusual audio file the reliability tests generate, each with
the outcome documented in docs/reliability.md (the finding kind the dataset check reports, or None: accepted).

Every file is real: written with soundfile, cut with byte slicing, or made with ``os.mkfifo``; nothing is mocked.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000


def tone(seconds: float, rate: int = RATE, channels: int = 1, level: float = 0.3, seed: int = 0) -> np.ndarray:
    """A 440 Hz tone with a little noise, ``(frames,)`` or ``(frames, channels)``."""
    t = np.arange(int(seconds * rate)) / rate
    mono = level * np.sin(2 * np.pi * 440 * t) + 0.01 * np.random.default_rng(seed).standard_normal(t.shape)
    return np.stack([mono] * channels, axis=1) if channels > 1 else mono


def write(path: Path, data: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> Path:
    sf.write(path, data, rate, subtype=subtype)
    return path


def _cut(path: Path, keep: Callable[[bytes], bytes]) -> Path:
    write(path, tone(1.0))
    path.write_bytes(keep(path.read_bytes()))
    return path


def _with_bad_samples(path: Path, value: float) -> Path:
    data = tone(1.0).astype(np.float32)
    data[4000:4010] = value
    return write(path, data, subtype="FLOAT")


def _scaled(path: Path, factor: float) -> Path:
    return write(path, (tone(1.0) * factor).astype(np.float32), subtype="FLOAT")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _square_at_full_scale(path: Path) -> Path:
    t = np.arange(RATE) / RATE
    return write(path, np.sign(np.sin(2 * np.pi * 200 * t)) * 1.0)


@dataclass(frozen=True)
class Case:
    """One broken or unusual file: how to make it, and the dataset check's verdict (None: nothing to report)."""

    name: str
    make: Callable[[Path], Path]
    kind: str | None
    usable: bool  # trained on (and transcribed) as it is

    def __str__(self) -> str:
        return self.name


AUDIO_CASES: tuple[Case, ...] = (
    Case("16 kHz 16-bit mono", lambda p: write(p, tone(1.0)), None, True),
    Case("truncated header", lambda p: _cut(p, lambda b: b[:30]), "truncated", False),
    Case("truncated data", lambda p: _cut(p, lambda b: b[: len(b) // 2]), "truncated", False),
    Case("header only", lambda p: _cut(p, lambda b: b[:44]), "truncated", False),
    Case("zero-length file", lambda p: _cut(p, lambda b: b""), "too_short", False),
    Case("too short (100 samples)", lambda p: write(p, tone(100 / RATE)), "too_short", False),
    Case("random bytes named .wav", lambda p: _cut(p, lambda b: np.random.default_rng(7).bytes(5000)),
         "unreadable", False),
    Case("FIFO named .wav", _fifo, "not_regular", False),
    Case("folder named .wav", _folder, "not_regular", False),
    Case("NaN samples (float wav)", lambda p: _with_bad_samples(p, float("nan")), "non_finite", False),
    Case("Inf samples (float wav)", lambda p: _with_bad_samples(p, float("inf")), "non_finite", False),
    Case("8-bit", lambda p: write(p, tone(1.0), subtype="PCM_U8"), "converted", True),
    Case("24-bit", lambda p: write(p, tone(1.0), subtype="PCM_24"), "converted", True),
    Case("32-bit float", lambda p: write(p, tone(1.0), subtype="FLOAT"), "converted", True),
    Case("stereo", lambda p: write(p, tone(1.0, channels=2)), "converted", True),
    Case("8 kHz", lambda p: write(p, tone(1.0, rate=8000), rate=8000), "converted", True),
    Case("44.1 kHz", lambda p: write(p, tone(1.0, rate=44100), rate=44100), "converted", True),
    Case("clipped", _square_at_full_scale, "clipped", True),
    Case("silent", lambda p: write(p, np.zeros(RATE)), "silent", True),
    Case("huge samples (float wav x 1e30)", lambda p: _scaled(p, 1e30), "out_of_range", False),
    Case("integer values in a float wav (x 32768)", lambda p: _scaled(p, 32768.0), "out_of_range", False),
)


# --- full and read-only disks ------------------------------------------------------------------------------------
def mount_small_disk(folder: Path, size: str, read_only: bool = False) -> Callable[[], None] | None:
    """Mount a real tmpfs of ``size`` (``mount -t tmpfs``) at ``folder``, made if missing; returns the function
    that unmounts it, or None where this machine does not let the tests mount (not root, no CAP_SYS_ADMIN)."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return None
    return lambda: subprocess.run(["umount", "-l", str(folder)], check=True)


def file_size_limit(nbytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps every file the child writes at ``nbytes`` (``RLIMIT_FSIZE``): a write past it
    fails with ``EFBIG``, the way a full disk fails with ``ENOSPC`` (Python ignores ``SIGXFSZ``, so the write
    raises instead of the process dying). Works without privileges, where mounting a small disk does not."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit
