"""Reading one audio file once, in blocks, and writing down what was found: the facts the dataset check judges.

Facts, not verdicts: how long the file is, its format, how many samples are NaN/Inf, at full scale, the loudest
sample, whether its header promises more than is there, or why it could not be read. Limits (the longest duration
a run accepts, what counts as clipped) are applied later by ``speech_kit.validate``, so cached facts stay valid
when a flag changes. Reading in blocks keeps memory flat whatever the file's length: a ten-minute file costs
one block, not 38 MB.
"""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass, fields

import numpy as np
import soundfile as sf

from speech_kit.audio import SAMPLE_RATE, AudioInfo, not_regular
from speech_kit.riff import shortfall

BLOCK_FRAMES = 1 << 16
# The largest magnitude a sample of each width reaches on soundfile's [-1, 1) scale; at or beyond it: clipped.
FULL_SCALE = 32767 / 32768
FULL_SCALE_8BIT = 127 / 128

# Outcomes of reading a file (``AudioFacts.status``).
OK = "ok"
MISSING = "missing"
NOT_REGULAR = "not_regular"
UNREADABLE = "unreadable"
TRUNCATED = "truncated"
EMPTY = "empty"


@dataclass(frozen=True)
class AudioFacts:
    """What one read of a file found. ``status`` is ``OK`` or why the audio is unusable (``detail`` says more);
    counts are over all channels' samples; ``first_non_finite`` is a frame index (-1: none)."""

    status: str
    detail: str = ""
    rate: int = 0
    channels: int = 0
    subtype: str = ""
    frames: int = 0
    non_finite: int = 0
    first_non_finite: int = -1
    clipped: int = 0
    peak: float = 0.0

    @property
    def seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0

    @property
    def samples_16k(self) -> int:
        """Length after resampling to 16 kHz, which is what the features see."""
        return self.frames * SAMPLE_RATE // self.rate if self.rate else 0

    def info(self, path: str) -> AudioInfo:
        return AudioInfo(path, self.rate, self.channels, self.subtype, self.frames)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> AudioFacts:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def file_state(path: str) -> os.stat_result | AudioFacts:
    """``os.stat`` of ``path`` when it is a regular file, else the facts that say why it cannot be read (a FIFO is
    never opened: opening one waits for a writer forever)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return AudioFacts(MISSING, "audio file not found")
    except OSError as err:
        return AudioFacts(UNREADABLE, f"cannot read: {err.strerror}")
    if stat.S_ISREG(info.st_mode):
        return info
    return AudioFacts(NOT_REGULAR, not_regular(info.st_mode))


def scan(path: str) -> AudioFacts:
    """Read ``path`` once and return its facts; never raises for a bad file (the facts say what is wrong)."""
    state = file_state(path)
    if isinstance(state, AudioFacts):
        return state
    if state.st_size == 0:
        return AudioFacts(EMPTY, "empty file (0 bytes)")
    try:
        cut = shortfall(path)
    except OSError as err:
        return AudioFacts(UNREADABLE, f"cannot read: {err.strerror}")
    try:
        sound = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        if cut is not None:
            return AudioFacts(TRUNCATED, cut.describe())
        return AudioFacts(UNREADABLE, f"not a readable audio file ({err})")
    with sound:
        header = {"rate": sound.samplerate, "channels": sound.channels, "subtype": sound.subtype}
        full_scale = FULL_SCALE_8BIT if sound.subtype in ("PCM_U8", "PCM_S8") else FULL_SCALE
        frames = non_finite = clipped = 0
        first = -1
        peak = 0.0
        try:
            for block in sound.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                bad = ~np.isfinite(block)
                if bad.any():
                    if first < 0:
                        first = frames + int(np.argmax(bad.any(axis=1)))
                    non_finite += int(bad.sum())
                    block = np.where(bad, 0.0, block)
                magnitude = np.abs(block)
                if magnitude.size:
                    peak = max(peak, float(magnitude.max()))
                clipped += int((magnitude >= full_scale).sum())
                frames += block.shape[0]
        except (sf.LibsndfileError, RuntimeError) as err:
            return AudioFacts(TRUNCATED, f"reading stopped after {frames} frames ({err})", **header, frames=frames)
    if cut is not None:
        return AudioFacts(TRUNCATED, cut.describe(), **header, frames=frames)
    return AudioFacts(OK, "", **header, frames=frames, non_finite=non_finite, first_non_finite=first,
                      clipped=clipped, peak=peak)
