"""The decoding a checkpoint recommends: ``decoding.json`` beside ``model.pt``.

A shipped model is only as good as the way it is decoded: ``pretrained/korean`` gains several CRR points from a
CTC prefix beam with its n-gram LM over greedy decoding. The recipe that measures the best options writes them here
(``python -m models.export ... --beam_size 8 --lm_weight 0.5 --length_bonus 1``), and every consumer — the
transcriber, ``main.py``'s ``infer`` and so ``nsml submit``, ``ru_numbers.evaluate`` — decodes that way unless its
own decoding flags say otherwise (``--greedy`` asks for plain greedy decoding).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path

from models.checkpoint import CheckpointError
from models.decoding import DecodingOptions
from speech_kit.atomic import atomic_write

RECOMMENDED_FILE = "decoding.json"
FORMAT = "speech-kit-decoding/1"
TUNABLE = ("beam_size", "length_penalty", "lm_weight", "length_bonus", "stretch")  # how to decode, not the model is


def read_recommended(directory: str | os.PathLike) -> dict[str, float]:
    """The options ``directory/decoding.json`` recommends ({} when it has none)."""
    path = Path(directory) / RECOMMENDED_FILE
    if not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        options = {name: payload["options"][name] for name in TUNABLE if name in payload["options"]}
        DecodingOptions(**options)  # validates ranges and types
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise CheckpointError(f"{path}: not a readable {FORMAT} file ({type(err).__name__}: {err})") from None
    if payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file")
    return options


def write_recommended(directory: str | os.PathLike, options: DecodingOptions, note: str = "") -> Path:
    """Record ``options``' search settings as the checkpoint's recommended decoding; ``note`` says where from."""
    path = Path(directory) / RECOMMENDED_FILE
    tunable = {name: value for name, value in asdict(options).items() if name in TUNABLE}
    with atomic_write(path) as f:
        json.dump({"format": FORMAT, "options": tunable, "note": note}, f, indent=1)
    return path


def with_recommended(options: DecodingOptions, recommended: dict[str, float]) -> DecodingOptions:
    """``options`` with the search settings a checkpoint recommends."""
    return replace(options, **recommended)


def describe(options: DecodingOptions) -> str:
    """``"beam 8, LM weight 0.5, length bonus 1"`` or ``"greedy"``."""
    heard = f", features stretched {options.stretch:g}x" if options.stretch != 1.0 else ""
    if options.beam_size == 1:
        return "greedy" + heard
    parts = [f"beam {options.beam_size}"]
    if options.lm_weight:
        parts.append(f"LM weight {options.lm_weight:g}")
    if options.length_bonus:
        parts.append(f"length bonus {options.length_bonus:g}")
    if options.length_penalty:
        parts.append(f"length penalty {options.length_penalty:g}")
    return ", ".join(parts) + heard
