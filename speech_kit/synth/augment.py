"""Augmentations that turn one voice into many, for both languages: each returns a ``render.Effect``.

A synthetic corpus has few voices (a handful of espeak-ng variants, one Festival speaker), and a recogniser trained
on them learns those voices. These effects change what a real speaker would change, each along one axis, so one
recorded or synthesised voice becomes many:

* ``tempo`` - the speaking rate. sox's ``tempo -s`` (WSOLA, tuned for speech) shortens or stretches the speech and
  keeps its pitch and formants; ``speed`` would resample, moving rate, pitch and formants together like a tape
  played fast, which no speaker does.
* ``voice_shift`` - the fundamental frequency (F0) and the vocal-tract length, independently. The WORLD vocoder
  (``pyworld``) splits speech into F0, spectral envelope and aperiodicity, so F0 can be scaled alone and the
  envelope warped along frequency alone: a woman speaking low keeps her formants, a shorter vocal tract keeps its
  speaker's pitch. A pitch shifter that resamples moves both at once (the "chipmunk" voice).
* ``telephone`` - the line: 300-3400 Hz, 8 kHz, a G.711 (mu-law, A-law) or GSM codec, back to 16 kHz. The 2019
  hackathon's recordings came from call centres, so its speech has this bandwidth.
* ``reverb`` - a room (sox's ``reverb``), the tail cut at the input's length.
* ``chain`` - several of them in order.

Every effect is deterministic: the same samples and parameters give the same output bytes (sox runs in repeatable
mode without dither; WORLD has no randomness of its own). The parameters are drawn by the caller's seeded plan, so
a dataset depends on its seed alone. Effects are ``functools.partial`` objects of module functions, so they pickle
into a process pool. Samples are float64 at ``speech_kit.audio.SAMPLE_RATE`` in [-1, 1], and stay within it.
"""

from __future__ import annotations

import os
import tempfile
from functools import partial

import numpy as np
import pyworld

from speech_kit.audio import SAMPLE_RATE
from speech_kit.synth.render import Effect
from speech_kit.synth.tools import require, run

TEMPO_RANGE = (0.5, 2.0)
F0_RATIO_RANGE = (0.5, 2.0)
FORMANT_RATIO_RANGE = (0.7, 1.4)
REVERB_RANGE = (0.0, 100.0)  # sox's reverberance and room scale, in percent
WET_DB_RANGE = (-10.0, 10.0)  # sox's wet gain, in dB
REVERB_HF_DAMPING = 50.0  # sox's default, in percent

FRAME_PERIOD_MS = 5.0  # WORLD's analysis hop

TELEPHONE_BAND_HZ = (300, 3400)
TELEPHONE_RATE = 8000
CODECS = {"ulaw": "ul", "alaw": "al", "gsm": "gsm"}  # name -> sox file type

# sox computes on fixed-point samples and clips at full scale: a filter's overshoot or a room's echoes would be
# clipped, so the samples go in 12 dB lower and come back up.
SOX_HEADROOM = 0.25
_RAW = ("-t", "f32", "-L", "-c", "1")  # headerless little-endian 32-bit float, mono


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if not low <= value <= high:  # also refuses NaN
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """``samples`` cut or zero-padded to ``length``."""
    if samples.shape[0] >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - samples.shape[0])])


def _within_full_scale(samples: np.ndarray) -> np.ndarray:
    peak = np.max(np.abs(samples)) if samples.shape[0] else 0.0
    return samples / peak if peak > 1.0 else samples


def _sox(samples: np.ndarray, *effects: str) -> np.ndarray:
    """``samples`` through a sox effect chain at 16 kHz, in repeatable mode without dither; float64 out."""
    if samples.shape[0] == 0:
        return np.zeros(0)
    with tempfile.TemporaryDirectory(prefix="augment-") as tmp:
        source, target = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
        (np.asarray(samples, dtype=np.float64) * SOX_HEADROOM).astype("<f4").tofile(source)
        rate = ("-r", str(SAMPLE_RATE))
        run([require("sox"), "-R", "-D", *_RAW, *rate, source, *_RAW, target, *effects])
        out = np.fromfile(target, dtype="<f4").astype(np.float64) / SOX_HEADROOM
    return _within_full_scale(out)


def _tempo(samples: np.ndarray, factor: float) -> np.ndarray:
    return _sox(samples, "tempo", "-s", repr(factor))


def tempo(factor: float) -> Effect:
    """Speak ``factor`` times as fast (0.5..2.0; above 1 is faster and shorter) at the same pitch and formants."""
    return partial(_tempo, factor=_check_range("tempo factor", factor, TEMPO_RANGE))


def _warp(frames: np.ndarray, ratio: float) -> np.ndarray:
    """Each frame (a row over frequency bins) stretched along frequency: ``new[f] = old[f / ratio]``, linearly
    interpolated between bins, the last bin repeated beyond the top."""
    bins = frames.shape[1]
    source = np.minimum(np.arange(bins) / ratio, bins - 1)
    below = np.floor(source).astype(int)
    above = np.minimum(below + 1, bins - 1)
    weight = source - below
    return np.ascontiguousarray(frames[:, below] * (1.0 - weight) + frames[:, above] * weight)  # pyworld needs C order


def _voice_shift(samples: np.ndarray, f0_ratio: float, formant_ratio: float) -> np.ndarray:
    speech = np.ascontiguousarray(samples, dtype=np.float64)
    peak = min(float(np.max(np.abs(speech))), 1.0) if speech.shape[0] else 0.0
    if peak == 0.0:  # nothing to analyse: silence stays silence
        return np.zeros_like(speech)
    f0, times = pyworld.harvest(speech, SAMPLE_RATE, frame_period=FRAME_PERIOD_MS)
    envelope = pyworld.cheaptrick(speech, f0, times, SAMPLE_RATE)
    aperiodicity = pyworld.d4c(speech, f0, times, SAMPLE_RATE)
    if formant_ratio != 1.0:
        envelope, aperiodicity = _warp(envelope, formant_ratio), _warp(aperiodicity, formant_ratio)
    # Unvoiced frames have F0 = 0, and stay 0 when scaled.
    shifted = pyworld.synthesize(f0 * f0_ratio, envelope, aperiodicity, SAMPLE_RATE, FRAME_PERIOD_MS)
    shifted = _fit(shifted, speech.shape[0])
    shifted_peak = np.max(np.abs(shifted))
    # Clipped at the peak, so that rounding in the scaling cannot carry a sample past it.
    return np.clip(shifted * (peak / shifted_peak), -peak, peak) if shifted_peak > 0 else shifted


def voice_shift(f0_ratio: float, formant_ratio: float) -> Effect:
    """F0 times ``f0_ratio`` (0.5..2.0) and the formants moved by ``formant_ratio`` (0.7..1.4; above 1 is a shorter
    vocal tract, towards a female or child voice), independently, with the WORLD vocoder.

    The spectral envelope and aperiodicity of every 5 ms frame are warped along frequency; the output has the
    input's length and peak (at most 1.0).
    """
    return partial(_voice_shift, f0_ratio=_check_range("f0_ratio", f0_ratio, F0_RATIO_RANGE),
                   formant_ratio=_check_range("formant_ratio", formant_ratio, FORMANT_RATIO_RANGE))


def _telephone(samples: np.ndarray, codec: str) -> np.ndarray:
    if samples.shape[0] == 0:
        return np.zeros(0)
    sox = require("sox")
    low, high = TELEPHONE_BAND_HZ
    with tempfile.TemporaryDirectory(prefix="augment-") as tmp:
        source, line, target = (os.path.join(tmp, name) for name in ("in.f32", f"line.{CODECS[codec]}", "out.f32"))
        (np.asarray(samples, dtype=np.float64) * SOX_HEADROOM).astype("<f4").tofile(source)
        coded = ("-t", CODECS[codec], "-c", "1", "-r", str(TELEPHONE_RATE))
        run([sox, "-R", "-D", *_RAW, "-r", str(SAMPLE_RATE), source, *coded, line,
             "sinc", f"{low}-{high}", "rate", str(TELEPHONE_RATE)])
        run([sox, "-R", "-D", *coded, line, *_RAW, target, "rate", str(SAMPLE_RATE)])
        out = np.fromfile(target, dtype="<f4").astype(np.float64) / SOX_HEADROOM
    return _within_full_scale(_fit(out, samples.shape[0]))


def telephone(codec: str = "ulaw") -> Effect:
    """A telephone line: band-pass 300-3400 Hz, 8 kHz, ``codec`` ("ulaw", "alaw" or "gsm"), back to 16 kHz;
    the input's length."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)}, got {codec!r}")
    return partial(_telephone, codec=codec)


def _reverb(samples: np.ndarray, reverberance: float, room_scale: float, wet_db: float) -> np.ndarray:
    # sox reverb: reverberance, HF damping, room scale, stereo depth (0: stays mono), pre-delay (ms), wet gain.
    out = _sox(samples, "reverb", repr(reverberance), repr(REVERB_HF_DAMPING), repr(room_scale), "0", "0",
               repr(wet_db))
    return _fit(out, samples.shape[0])


def reverb(reverberance: float = 50, room_scale: float = 50, wet_db: float = 0) -> Effect:
    """A room: sox's ``reverb`` with ``reverberance`` and ``room_scale`` (0..100 %) and the reverberant part's gain
    ``wet_db`` (-10..10 dB), mixed with the dry speech as sox does; mono, cut to the input's length."""
    return partial(_reverb, reverberance=_check_range("reverberance", reverberance, REVERB_RANGE),
                   room_scale=_check_range("room_scale", room_scale, REVERB_RANGE),
                   wet_db=_check_range("wet_db", wet_db, WET_DB_RANGE))


def _chain(samples: np.ndarray, effects: tuple[Effect, ...]) -> np.ndarray:
    for effect in effects:
        samples = effect(samples)
    return samples


def chain(*effects: Effect) -> Effect:
    """``effects`` applied in order, as one effect."""
    return partial(_chain, effects=effects)
