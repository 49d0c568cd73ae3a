"""Numbers and speaker gender from speech: ``python -m ru_numbers.evaluate INPUT.csv [OUTPUT.csv]``.

INPUT has a ``filename`` column (paths relative to the CSV; other columns are ignored); OUTPUT (default
``out.csv``) gets ``filename,transcription,gender``, one row per input row in the same order. Wav at any sample
rate and channel count, and FLAC, are read (converted to 16 kHz mono). A row whose file is missing, unreadable or
holds NaN or infinite samples gets an empty prediction and a warning naming it; the others are recognised in
batches.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from models import CheckpointError
from ru_numbers.manifest import REQUIRED_COLUMNS
from ru_numbers.recognizer import Recognizer
from speech_kit.atomic import atomic_write
from speech_kit.audio import AudioError, probe
from speech_kit.cli import fail
from speech_kit.layout import DatasetError, read_text
from speech_kit.precision import PRECISIONS

PROG = "python -m ru_numbers.evaluate"
DEFAULT_STATES = Path(__file__).resolve().parent / "states" / "words"
OUTPUT_COLUMNS = ("filename", "transcription", "gender")
HEADER = ",".join(REQUIRED_COLUMNS)  # the task's manifest header; evaluation reads only its filename column
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


def read_filenames(path: str) -> list[str]:
    """The ``filename`` column of a CSV, in order; errors name the file and line, and the header when it lacks."""
    text = read_text(path, f"a CSV list of audio files under the header line {HEADER} (only filename is needed)")
    reader = csv.DictReader(text.splitlines())
    if "filename" not in (reader.fieldnames or []):
        first = text.split("\n", 1)[0]
        if not first.strip():
            problem = "is empty" if not text.strip() else "starts with an empty line"
        elif Path(first.split(",", 1)[0].strip()).suffix.lower() in AUDIO_SUFFIXES:
            problem = f"has no header line (line 1 is {first!r}, a file)"
        else:
            problem = f"has no 'filename' column in its header line {first!r}"
        raise DatasetError(f"{path}:1: the list {problem}: its first line must name the columns, e.g. {HEADER} "
                           f"(only filename is needed, others are ignored)")
    names = []
    for row in reader:
        if not row.get("filename"):
            raise DatasetError(f"{path}:{reader.line_num}: empty filename")
        names.append(row["filename"])
    return names


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                     epilog="Output columns: filename,transcription,gender.")
    parser.add_argument("input", help="CSV with a 'filename' column (paths relative to the CSV)")
    parser.add_argument("output", nargs="?", default="out.csv", help="CSV to write (default: out.csv)")
    parser.add_argument("--states", default=str(DEFAULT_STATES),
                        help="checkpoint folder (model.pt + task.json); default: the shipped words model")
    parser.add_argument("--batch_size", type=positive, default=32, help="files recognised together (at least 1)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    search = parser.add_argument_group("decoding",
                                       "default: what the checkpoint recommends (its decoding.json), else greedy CTC")
    search.add_argument("--beam_size", type=int, default=None,
                        help="1: greedy CTC; more: CTC prefix beam search of that width")
    search.add_argument("--length_bonus", type=float, default=None,
                        help="with --beam_size > 1: log-score bonus per emitted word")
    search.add_argument("--stretch", type=float, default=None,
                        help="features stretched in time this many times before encoding (1.1: heard 10%% slower)")
    args = parser.parse_args(argv)
    given = {name: getattr(args, name) for name in ("beam_size", "length_bonus", "stretch")
             if getattr(args, name) is not None}
    try:
        names = read_filenames(args.input)
        recognizer = Recognizer.load(args.states)
        decoding = replace(recognizer.decoding, **given)
    except (DatasetError, CheckpointError, FileNotFoundError, ValueError) as err:
        return fail(PROG, err)
    output = Path(args.output)
    if not output.parent.is_dir():
        return fail(PROG, f"{args.output}: folder {output.parent} does not exist")
    base = Path(args.input).parent
    readable: list[int] = []
    for i, name in enumerate(names):
        try:
            probe(base / name)
            readable.append(i)
        except AudioError as err:
            print(f"{PROG}: warning: {args.input}:{i + 2}: {err}; its prediction is left empty", file=sys.stderr)
    predictions = [("", "")] * len(names)
    unusable: list[int] = []

    def warn(index: int, error: str) -> None:  # NaN samples and the like, found only when the whole file is read
        unusable.append(readable[index])
        print(f"{PROG}: warning: {args.input}:{readable[index] + 2}: {error}; its prediction is left empty",
              file=sys.stderr)

    with tqdm(total=len(readable), desc="recognise", unit="file", disable=not sys.stderr.isatty()) as bar:
        results = recognizer([str(base / names[i]) for i in readable], args.batch_size, args.precision, bar.update,
                             decoding, warn)
    for i, result in zip(readable, results):
        predictions[i] = (result.transcription, result.gender)
    with atomic_write(output, newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows((name, *prediction) for name, prediction in zip(names, predictions))
    print(f"{len(readable) - len(unusable)} of {len(names)} file(s) recognised -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
