"""Reading speech audio as the baseline expects it: 16 kHz, mono, on the 16-bit integer scale.

The seed fed raw 16-bit sample values (not [-1, 1) floats) into its STFT, so the feature scale of every trained
model depends on that. Files in another format are converted to the same scale (resampled, downmixed, rescaled);
``probe`` reads only headers so a whole dataset can be checked, and conversions announced, before training.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from math import gcd

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
CHANNELS = 1
SUBTYPE = "PCM_16"
INT16_SCALE = 32768.0
MIN_SAMPLES = 512  # one N_FFT window: anything shorter has no spectrogram frame
# Loudest sample a float wav may hold, in units of full scale (soundfile's [-1, 1)). Float wavs may exceed full
# scale a little (a mix that was never limited), but 48 dB above it is no recording: integer values saved as
# floats, or a scale applied twice. Such samples square to features far outside anything trained on (at 1e30,
# to infinity in a batch-norm buffer after a whole epoch), so they are refused like NaN.
MAX_PEAK = 256.0


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class AudioInfo:
    path: str
    rate: int
    channels: int
    subtype: str
    frames: int

    @property
    def needs_conversion(self) -> bool:
        return (self.rate, self.channels, self.subtype) != (SAMPLE_RATE, CHANNELS, SUBTYPE)

    def describe(self) -> str:
        return f"{self.rate} Hz, {self.channels} channel(s), {self.subtype}"


def _unreadable(path: str, err: Exception) -> AudioError:
    if not os.path.exists(path):
        return AudioError(f"{path}: audio file not found")
    return AudioError(f"{path}: not a readable audio file ({err})")


def require_regular_file(path: str) -> None:
    """Refuse anything but a regular file before opening it: a FIFO (named pipe) listed as a wav would block the
    open forever, and a device or socket is never audio. ``os.stat`` follows links, so a link to one is refused."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise AudioError(f"{path}: audio file not found") from None
    except OSError as err:
        raise AudioError(f"{path}: cannot read: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        raise AudioError(f"{path}: {not_regular(mode)}")


def not_regular(mode: int) -> str:
    """Why a file of this ``st_mode`` is refused as audio."""
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a device or socket")
    return f"not a regular file ({kind}); refused without opening it"


def count_non_finite(samples: np.ndarray) -> tuple[int, int]:
    """``(how many samples are NaN or infinite, index of the first)``; ``(0, -1)`` for clean audio."""
    bad = ~np.isfinite(samples)
    if not bad.any():
        return 0, -1
    flat = bad.reshape(bad.shape[0], -1).any(axis=1)
    return int(bad.sum()), int(np.argmax(flat))


def non_finite_error(path: str, count: int, first: int, rate: int) -> AudioError:
    return AudioError(f"{path}: {count} samples are NaN or infinite (first at {first / rate:.2f} s); a float wav "
                      f"with such samples would make every loss and prediction NaN")


def loudness_error(path: str, peak: float) -> AudioError:
    return AudioError(f"{path}: samples reach {peak:.3g} times full scale (a float wav far outside [-1, 1], "
                      f"at most {MAX_PEAK:g} is accepted); rescale it, e.g. sox --norm {path} fixed.wav")


def probe(path: str | os.PathLike) -> AudioInfo:
    """Header of ``path``; raises ``AudioError`` for a missing, unreadable, not regular or too short file."""
    path = str(path)
    require_regular_file(path)
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise _unreadable(path, err) from None
    if info.frames * SAMPLE_RATE < MIN_SAMPLES * info.samplerate:
        raise AudioError(f"{path}: too short ({info.frames} samples at {info.samplerate} Hz); "
                         f"a spectrogram needs at least {MIN_SAMPLES} samples at {SAMPLE_RATE} Hz")
    return AudioInfo(path, info.samplerate, info.channels, info.subtype, info.frames)


def read_audio(path: str | os.PathLike) -> np.ndarray:
    """Samples of ``path`` as float32 on the 16-bit integer scale, 16 kHz mono (converted when needed).

    NaN or infinite samples and samples far beyond full scale (``MAX_PEAK``; both possible only in float wavs) are
    refused here, on every read: they would turn the loss, the weights and every transcript into NaN or silence
    without any other sign of what went wrong.
    """
    path = str(path)
    require_regular_file(path)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise _unreadable(path, err) from None
    bad, first = count_non_finite(data)
    if bad:
        raise non_finite_error(path, bad, first, rate)
    peak = float(np.abs(data).max()) if data.size else 0.0
    if peak > MAX_PEAK:
        raise loudness_error(path, peak)
    signal = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != SAMPLE_RATE:
        from scipy.signal import resample_poly

        g = gcd(rate, SAMPLE_RATE)
        signal = resample_poly(signal, SAMPLE_RATE // g, rate // g).astype(np.float32)
    if signal.shape[0] < MIN_SAMPLES:
        raise AudioError(f"{path}: too short ({signal.shape[0]} samples at {SAMPLE_RATE} Hz); "
                         f"a spectrogram needs at least {MIN_SAMPLES}")
    # For 16-bit files this is exact: soundfile divides by 32768 and every int16 / 32768 is a float32.
    return signal * np.float32(INT16_SCALE)


def conversion_summary(infos: list[AudioInfo]) -> str | None:
    """One line describing the files that will be converted, or None when all are 16 kHz 16-bit mono."""
    odd = [i for i in infos if i.needs_conversion]
    if not odd:
        return None
    kinds = sorted({i.describe() for i in odd})
    return (f"{len(odd)} of {len(infos)} audio files are not {SAMPLE_RATE} Hz 16-bit mono "
            f"({'; '.join(kinds[:3])}{'; ...' if len(kinds) > 3 else ''}), e.g. {odd[0].path}: "
            f"they are resampled to {SAMPLE_RATE} Hz, downmixed and rescaled to 16-bit when read")
