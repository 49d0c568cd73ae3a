"""Stand-alone transcriber: ``python -m evaluation.transcribe --checkpoint DIR --output OUT.csv WAV|LIST ...``.

Needs nothing but a checkpoint folder: the model configuration and the label table travel inside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

import torch
from tqdm import tqdm

from speech_kit.audio import AudioError, probe
from speech_kit.layout import DatasetError, read_pairs
from evaluation.score import write_predictions
from loader import get_spectrogram_feature
from models import CheckpointError, greedy_decode, load_checkpoint


def expand_inputs(items: list[str]) -> list[str]:
    """Wav paths as given; any other argument is a list file: one path per line (``path,...`` lines too),
    relative paths resolved against the list file's folder."""
    paths: list[str] = []
    for item in items:
        if item.lower().endswith(".wav"):
            paths.append(item)
            continue
        base = Path(item).parent
        paths.extend(str(base / pair.first) for pair in read_pairs(item, "<wav-path>[,...]"))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.transcribe",
        description="Transcribe wav files with a saved checkpoint folder (e.g. ./checkpoints/best); writes "
                    "'<path>,<text>' lines that python -m evaluation.score can score.")
    parser.add_argument("inputs", nargs="+", metavar="WAV|LIST",
                        help="wav files, or text files listing one wav path per line")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder holding model.pt")
    parser.add_argument("--output", required=True, help="CSV file to write ('<path>,<text>' lines)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    args = parser.parse_args(argv)
    try:
        wavs = expand_inputs(args.inputs)
        for wav in wavs:
            probe(wav)
        checkpoint = load_checkpoint(args.checkpoint, map_location=args.device)
    except (AudioError, DatasetError, CheckpointError) as err:
        print(f"transcribe: error: {err}", file=sys.stderr)
        return 2
    model = checkpoint.build(args.device)

    def transcripts() -> Iterator[tuple[str, str]]:
        for wav in tqdm(wavs, desc="transcribe", unit="file", disable=not sys.stderr.isatty()):
            feat = get_spectrogram_feature(wav).unsqueeze(0).to(args.device)
            yield wav, greedy_decode(model, feat, None, checkpoint.vocab)[0]

    write_predictions(args.output, transcripts())
    print(f"transcribed {len(wavs)} file(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
