"""Stand-alone transcriber: ``python -m evaluation.transcribe --checkpoint DIR [--output OUT.csv|-] WAV|LIST ...``.

Needs nothing but a checkpoint folder: the model configuration and the label table travel inside it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from tqdm import tqdm

from models import CheckpointError, DecodingOptions, load_checkpoint
from models.recommended import TUNABLE, describe, read_recommended, with_recommended
from models.lm import LM_FILE, NgramLM
from models.transcribe import transcribe
from speech_kit.audio import AudioError, probe
from speech_kit.cli import fail
from speech_kit.features import Featurizer
from speech_kit.layout import DatasetError, read_wav_list
from speech_kit.precision import PRECISIONS
from speech_kit.units import TextUnits
from speech_kit.scoring import write_predictions, write_predictions_to

PROG = "evaluation.transcribe"
STDOUT = "-"


def expand_inputs(items: list[str]) -> list[str]:
    """Wav paths as given; any other argument is a list file read like a test list (one wav path per line, the
    2019 ``test_list.csv`` form; ``path,...`` lines too), its relative paths resolved against the list's folder."""
    paths: list[str] = []
    for item in items:
        if item.lower().endswith(".wav"):
            paths.append(item)
            continue
        base = Path(item).parent
        paths.extend(str(base / entry.first) for entry in read_wav_list(item))
    if not paths:
        raise DatasetError(f"no wav files to transcribe in {', '.join(items)}")
    return paths


def check_output(output: str) -> None:
    """Refuse an output path that cannot be written before any decoding time is spent on it."""
    if output == STDOUT:
        return
    target = Path(output)
    if target.is_dir():
        raise DatasetError(f"--output {output}: is a folder; give a file name such as {target / 'pred.csv'}")
    if not target.parent.is_dir():
        raise DatasetError(f"--output {output}: folder {target.parent} does not exist (create it first)")


def _check_some_usable(wavs: list[str]) -> None:
    """Refuse the run when no file has a readable header (nothing would be transcribed); a few bad files among
    good ones only get empty transcripts and warnings (``_warn``), so a long list is not lost to one of them."""
    first: AudioError | None = None
    for wav in wavs:
        try:
            probe(wav)
            return
        except AudioError as err:
            first = first or err
    if first is not None:
        raise AudioError(f"{first}" + (f" (and the other {len(wavs) - 1} files cannot be read either)"
                                       if len(wavs) > 1 else ""))


def _warn(index: int, error: str) -> None:
    print(f"{PROG}: warning: {error}; its transcript is left empty", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROG}",
        description="Transcribe wav files with a saved checkpoint folder (e.g. ./checkpoints/best); writes "
                    "'<path>,<text>' lines that python -m evaluation.score can score.")
    parser.add_argument("inputs", nargs="+", metavar="WAV|LIST",
                        help="wav files, or list files of one wav path per line (relative to the list's folder)")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder holding model.pt")
    parser.add_argument("--output", default=STDOUT,
                        help="CSV file to write ('<path>,<text>' lines); '-' (the default) prints them")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    parser.add_argument("--batch_size", type=int, default=32,
                        help="most files decoded together (sorted by duration; on a CPU the batches are shared "
                             "among one one-thread process per core); 1 decodes file by file")
    parser.add_argument("--max_len", type=int, default=80,
                        help="longest transcript, in labels, of audio under that many encoder frames (40 ms each); "
                             "longer audio may have one label per frame")
    search = parser.add_argument_group(
        "decoding", "a checkpoint with a decoding.json (the shipped models) is decoded the way it recommends; these "
                    "flags override its settings one by one, and --greedy drops them all")
    search.add_argument("--greedy", action="store_true", help="greedy decoding, whatever the checkpoint recommends")
    search.add_argument("--beam_size", type=int, default=None, help="beam width (1: greedy; default: 1)")
    search.add_argument("--length_penalty", type=float, default=None,
                        help="beam scores are divided by length**length_penalty (default: 0)")
    search.add_argument("--ctc_weight", type=float, default=0.0,
                        help="joint CTC-attention models: weight of the CTC score when the attention beam's finished "
                             "hypotheses are rescored (0: attention score alone)")
    search.add_argument("--lm_weight", type=float, default=None,
                        help="weight of the checkpoint's n-gram LM (its lm.json) in CTC beam search (default: 0)")
    search.add_argument("--length_bonus", type=float, default=None,
                        help="per-unit bonus in CTC beam search (default: 0)")
    search.add_argument("--stretch", type=float, default=None,
                        help="features stretched in time this many times before encoding (1.1: heard 10%% slower; "
                             "default: 1)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bf16: autocast to bfloat16")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch_size must be at least 1, got {args.batch_size}")
    given = {name: getattr(args, name) for name in TUNABLE if getattr(args, name) is not None}
    if args.greedy and given:
        parser.error(f"--greedy cannot go with --{' --'.join(given)}")
    try:
        options = DecodingOptions(args.max_len, ctc_weight=args.ctc_weight, **given)
    except ValueError as err:
        parser.error(str(err))
    try:
        check_output(args.output)
        wavs = expand_inputs(args.inputs)
        _check_some_usable(wavs)
        checkpoint = load_checkpoint(args.checkpoint, map_location=args.device)
        recommended = {} if args.greedy else read_recommended(args.checkpoint)
    except (AudioError, DatasetError, CheckpointError) as err:
        return fail(PROG, err)
    if recommended:
        options = with_recommended(options, {k: v for k, v in recommended.items() if k not in given})
        print(f"{PROG}: decoding as {args.checkpoint} recommends: {describe(options)} (--greedy or a decoding flag "
              "overrides)", file=sys.stderr)
    model = checkpoint.build(args.device)
    lm_path = Path(args.checkpoint) / LM_FILE
    lm = NgramLM.load(lm_path) if options.lm_weight and lm_path.is_file() else None
    if options.lm_weight and lm is None:
        return fail(PROG, f"LM weight {options.lm_weight:g}: the checkpoint has no {LM_FILE}")

    def transcripts() -> Iterator[tuple[str, str]]:
        with tqdm(total=len(wavs), desc="transcribe", unit="file", disable=not sys.stderr.isatty()) as bar:
            texts = transcribe(model, checkpoint.vocab, wavs, options, Featurizer(checkpoint.features),
                               args.batch_size, args.precision, bar.update, TextUnits(checkpoint.units), lm,
                               on_error=_warn)
        yield from zip(wavs, texts)

    if args.output == STDOUT:
        write_predictions_to(sys.stdout, transcripts())
        return 0
    try:
        write_predictions(args.output, transcripts())
    except OSError as err:
        return fail(PROG, f"--output {args.output}: cannot write: {err.strerror}")
    print(f"transcribed {len(wavs)} file(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
