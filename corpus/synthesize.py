"""Speak one Korean sentence with espeak-ng and store it as the hackathon's audio format (16 kHz, 16-bit, mono WAV).

espeak-ng is a formant synthesiser: robotic, but installable everywhere from Debian and deterministic, so a seed
reproduces a dataset byte for byte. Speaker variety comes from espeak-ng's voice variants (``-v ko+VARIANT``),
its speaking rate and its pitch. espeak-ng writes 22 050 Hz audio; sox resamples it in repeatable mode (``-R``
seeds the dither, which otherwise differs on every run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

SAMPLE_RATE = 16000
CHANNELS = 1

# Variants (files under espeak-ng-data/voices/!v/) that were checked to change the Korean voice audibly; the
# named gender is the one the variant file declares. Novelty voices (whisper, croak, robots) are left out.
VARIANTS: dict[str, str] = {
    "m1": "male",
    "m2": "male",
    "m3": "male",
    "m4": "male",
    "m5": "male",
    "m6": "male",
    "m7": "male",
    "f1": "female",
    "f2": "female",
    "f3": "female",
    "f4": "female",
    "f5": "female",
    "Alicia": "female",
}


class SynthesisError(RuntimeError):
    """espeak-ng or sox is missing or failed; the message names the command and what it printed."""


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SynthesisError(f"{tool} is not installed or not on PATH; install it with: apt-get install -y {package}")
    return path


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SynthesisError(
            f"command failed with exit code {result.returncode}: {' '.join(cmd)}\n{result.stderr.strip()}"
        )
    return result


def installed_variants() -> set[str]:
    """Variant names ``-v ko+NAME`` accepts here.

    espeak-ng silently falls back to its base voice for an unknown variant, so the only way to know that a
    variant exists is to look for its file in the data folder that ``espeak-ng --version`` reports.
    """
    out = _run([_require("espeak-ng", "espeak-ng"), "--version"]).stdout
    match = re.search(r"Data at:\s*(\S+)", out)
    if match is None:
        raise SynthesisError(f"cannot find the data folder in the output of 'espeak-ng --version': {out.strip()!r}")
    folder = Path(match.group(1)) / "voices" / "!v"
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


def synthesize(text: str, out_path: str | os.PathLike, variant: str, speed: int, pitch: int) -> float:
    """Write ``text`` spoken by ``ko+variant`` at ``speed`` words/minute and ``pitch`` (0-99) to ``out_path``.

    The file appears complete or not at all (written under a temporary name, then renamed), so an interrupted
    run never leaves a truncated WAV behind. Returns the duration in seconds.
    """
    espeak = _require("espeak-ng", "espeak-ng")
    sox = _require("sox", "sox")
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        raw = os.path.join(tmp, "raw.wav")
        # -b 1: the text argument is UTF-8 whatever the locale says.
        _run([espeak, "-b", "1", "-v", f"ko+{variant}", "-s", str(speed), "-p", str(pitch), "-w", raw, text])
        partial = out_path.with_name(f".{out_path.name}.partial-{os.getpid()}")
        try:
            _run([sox, "-R", raw, "-r", str(SAMPLE_RATE), "-b", "16", "-c", str(CHANNELS), "-e", "signed-integer",
                  "-t", "wav", str(partial)])
            os.replace(partial, out_path)
        finally:
            partial.unlink(missing_ok=True)
    with wave.open(str(out_path), "rb") as w:
        return w.getnframes() / w.getframerate()
