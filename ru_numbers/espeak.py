"""The two external programs of the generator: espeak-ng speaks Russian, sox resamples and makes coloured noise.

Both are driven as subprocesses with argument lists (no shell), and any failure becomes a ``ToolError`` whose
message names the command and what it printed, so the command-line tools can report it in one line.
espeak-ng accepts any ``-v ru+NAME`` and silently falls back to its plain voice for an unknown NAME, so the
variants are read from ``espeak-ng --voices=variant`` rather than trusted by name.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf

LANGUAGE = "ru"
NOISE_COLOURS: tuple[str, ...] = ("white", "pink", "brown")

# " 5  variant   70/F   female1   !v/f1   (en-us 5)": age/gender, voice name, file name (which may hold spaces).
_VARIANT_LINE = re.compile(r"^\s*\d+\s+variant\s+\S*/([MF-])\s+(\S+)\s+!v/(.+?)\s*(?:\(.*\))?\s*$")


class ToolError(RuntimeError):
    """espeak-ng or sox is missing or failed; the message names the command and its error output."""


@dataclass(frozen=True)
class Variant:
    """A voice variant as espeak-ng lists it: ``file`` is what ``-v ru+FILE`` takes, ``declared`` M, F or -."""

    file: str
    name: str
    declared: str


def require(tool: str) -> str:
    """Full path of ``tool``; a ToolError with the install command when it is missing."""
    path = shutil.which(tool)
    if path is None:  # both tools are packaged under their own names on Debian and Ubuntu
        raise ToolError(f"{tool} is not installed or not on PATH; install it with: apt-get install -y {tool}")
    return path


def run(cmd: list[str]) -> str:
    """Run ``cmd``; its stdout, or a ToolError naming the command and its stderr."""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as err:
        raise ToolError(f"cannot run {cmd[0]}: {err.strerror}") from None
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        raise ToolError(f"{' '.join(cmd)} failed with exit code {result.returncode}"
                        + (f": {detail[-1]}" if detail else ""))
    return result.stdout


def list_variants() -> list[Variant]:
    """Every voice variant this espeak-ng installation offers, in its listing order."""
    out = run([require("espeak-ng"), "--voices=variant"])
    variants = []
    for line in out.splitlines()[1:]:
        match = _VARIANT_LINE.match(line)
        if match:
            declared, name, file = match.groups()
            variants.append(Variant(file=file, name=name, declared=declared))
    if not variants:
        raise ToolError("espeak-ng --voices=variant listed no voice variants; is espeak-ng-data installed?")
    return variants


def speak(text: str, out_path: str | os.PathLike, variant: str, rate: int, pitch: int) -> None:
    """Write ``text`` spoken by ``ru+variant`` at ``rate`` words/minute and ``pitch`` 0-99 to a WAV file.

    espeak-ng writes its native 22 050 Hz; ``resample`` brings it to the dataset's format.
    """
    # -b 1: the text argument is UTF-8 whatever the locale is.
    run([require("espeak-ng"), "-b", "1", "-v", f"{LANGUAGE}+{variant}", "-s", str(rate), "-p", str(pitch),
         "-w", str(out_path), text])


def speak_samples(text: str, variant: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """``text`` spoken as in ``speak``, returned as float32 samples and their rate without touching the disk
    (for measurements that synthesise thousands of short clips)."""
    cmd = [require("espeak-ng"), "-b", "1", "-v", f"{LANGUAGE}+{variant}", "-s", str(rate), "-p", str(pitch),
           "--stdout", text]
    try:
        result = subprocess.run(cmd, capture_output=True)
    except OSError as err:
        raise ToolError(f"cannot run {cmd[0]}: {err.strerror}") from None
    if result.returncode != 0:
        raise ToolError(f"{' '.join(cmd)} failed with exit code {result.returncode}: "
                        f"{result.stderr.decode(errors='replace').strip()}")
    samples, sr = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return samples, sr


def resample(in_path: str | os.PathLike, out_path: str | os.PathLike, rate: int) -> None:
    """Convert to ``rate`` Hz, 16-bit, mono. ``-R`` seeds sox's generators and ``-D`` turns dither off, so the
    same input always gives the same bytes and digital silence stays exactly zero."""
    run([require("sox"), "-R", "-D", str(in_path), "-r", str(rate), "-b", "16", "-c", "1", "-e", "signed-integer",
         "-t", "wav", str(out_path)])


def synth_noise(colour: str, seconds: float, out_path: str | os.PathLike, rate: int) -> None:
    """``seconds`` of white, pink or brown noise from sox. In repeatable mode (``-R``) sox always draws the same
    noise, so callers take excerpts at planned offsets of one long recording to vary it."""
    if colour not in NOISE_COLOURS:
        raise ValueError(f"unknown noise colour {colour!r}; choose one of {', '.join(NOISE_COLOURS)}")
    run([require("sox"), "-R", "-n", "-r", str(rate), "-b", "16", "-c", "1", "-e", "signed-integer",
         "-t", "wav", str(out_path), "synth", f"{seconds:g}", f"{colour}noise"])

