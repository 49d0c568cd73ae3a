"""sox as the synthesis toolkit's resampler and noise source, always in repeatable mode.

``-R`` makes sox's pseudo-random parts (dither, noise generators) the same on every run, so a dataset depends on
its seed alone. Two sample formats are written, because the two corpora were made with different ones and a seed
must keep reproducing them byte for byte: ``float32`` keeps everything exact until the final rounding (the Korean
corpus), ``int16`` is the dataset's own format (the Russian numbers).
"""

from __future__ import annotations

import os

from speech_kit.synth.tools import require, run

SAMPLE_FORMATS: dict[str, tuple[str, ...]] = {
    "float32": ("-b", "32", "-e", "floating-point"),
    "int16": ("-b", "16", "-e", "signed-integer"),
}


def format_args(sample_format: str) -> tuple[str, ...]:
    """The sox output options of ``sample_format``; a ValueError naming the known ones otherwise."""
    try:
        return SAMPLE_FORMATS[sample_format]
    except KeyError:
        raise ValueError(f"unknown sample format {sample_format!r}; choose one of {', '.join(SAMPLE_FORMATS)}") \
            from None


def resample(in_path: str | os.PathLike, out_path: str | os.PathLike, rate: int, sample_format: str) -> None:
    """Convert a WAV to mono ``rate`` Hz in ``sample_format``. ``-D`` turns dither off, so digital silence stays
    exactly zero and the same input always gives the same bytes."""
    run([require("sox"), "-R", "-D", str(in_path), "-r", str(rate), "-c", "1", *format_args(sample_format),
         "-t", "wav", str(out_path)])


def synth_noise(colour: str, seconds: float, out_path: str | os.PathLike, rate: int, sample_format: str) -> None:
    """``seconds`` of sox's ``whitenoise``, ``pinknoise`` or ``brownnoise`` (``colour``) as a mono WAV.

    sox's generators take no seed: in repeatable mode they always draw the same samples, so callers vary noise by
    taking excerpts of one long recording at planned offsets (``speech_kit.synth.noise``).
    """
    run([require("sox"), "-R", "-n", "-r", str(rate), "-c", "1", *format_args(sample_format), "-t", "wav",
         str(out_path), "synth", f"{seconds:g}", f"{colour}noise"])
