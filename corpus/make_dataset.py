"""Write a synthetic Korean speech dataset in the 2019 hackathon's folder layout.

The committed ``sample_dataset/`` was made from the repository root with::

    python -m corpus.make_dataset --out sample_dataset --train 64 --test 16 --seed 2019 --max_chars 10 --overwrite

Layout (names ``train_0001``, ``test_0001``, ...)::

    DIR/train/train_data/data_list.csv   <name>.wav,<name>.label     (no header)
    DIR/train/train_data/<name>.wav      16 kHz, 16-bit, mono PCM
    DIR/train/train_label                <name>,<space-separated label ids>
    DIR/test/test_data/test_list.csv     <name>.wav,<name>.label
    DIR/test/test_data/<name>.wav
    DIR/test/test_label                  <name>,<transcript>
    DIR/manifest.tsv                     name, split, voice, speed, pitch, seconds, text (provenance)
    DIR/README                           what this is and the command that made it

Every transcript is checked against the label table before any audio is made, and the dataset is built in a
hidden sibling folder that replaces ``DIR`` only when complete, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from corpus.korean_text import load_sentences
from corpus.plan import PITCH_RANGE, SPEED_RANGE, TEST_ONLY_VARIANTS, TRAIN_VARIANTS, Utterance, plan_dataset
from corpus.synthesize import SynthesisError, installed_variants, synthesize
from label_loader import LabelTableError, Vocab

log = logging.getLogger("corpus.make_dataset")

DEFAULT_LABELS = Path(__file__).resolve().parent.parent / "hackathon.labels"
MANIFEST = "manifest.tsv"
DATA_DIRS = {"train": Path("train", "train_data"), "test": Path("test", "test_data")}
LIST_FILES = {"train": DATA_DIRS["train"] / "data_list.csv", "test": DATA_DIRS["test"] / "test_list.csv"}
LABEL_FILES = {"train": Path("train", "train_label"), "test": Path("test", "test_label")}


def check_transcripts(utterances: Sequence[Utterance], vocab: Vocab) -> None:
    """Fail on the first transcript with a character outside the label table, before hours of synthesis."""
    for utt in utterances:
        try:
            vocab.encode(utt.text)
        except LabelTableError as err:
            raise LabelTableError(
                f"{utt.split} sentence {utt.text!r}: {err}; "
                "rebuild the table over your sentences with: python -m corpus.build_labels --out FILE SENTENCE_FILE..."
            ) from None


def check_variants(utterances: Sequence[Utterance]) -> None:
    """espeak-ng would silently use its base voice for a missing variant; refuse instead."""
    missing = sorted({u.variant for u in utterances} - installed_variants())
    if missing:
        raise SynthesisError(f"espeak-ng has no voice variant(s) {', '.join(missing)} (see: espeak-ng --voices=variant)")


def synthesize_all(utterances: Sequence[Utterance], root: Path, jobs: int) -> dict[str, float]:
    """Synthesise every utterance under ``root``; returns seconds of audio per name.

    Threads are enough: each job waits on an espeak-ng and a sox process, which do the work.
    """
    seconds: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool, tqdm(total=len(utterances), unit="utt", desc="synthesising") as bar:
        futures = {
            pool.submit(synthesize, u.text, root / DATA_DIRS[u.split] / f"{u.name}.wav", u.variant, u.speed, u.pitch): u
            for u in utterances
        }
        for future in as_completed(futures):
            seconds[futures[future].name] = future.result()
            bar.update()
    return seconds


def write_lists(utterances: Sequence[Utterance], root: Path, vocab: Vocab, seconds: dict[str, float]) -> None:
    """The csv lists, the label files (ids for train, text for test, as in the hackathon) and the manifest."""
    for split in DATA_DIRS:
        chosen = [u for u in utterances if u.split == split]
        with open(root / LIST_FILES[split], "w", encoding="utf-8") as f:
            f.writelines(f"{u.name}.wav,{u.name}.label\n" for u in chosen)
        with open(root / LABEL_FILES[split], "w", encoding="utf-8") as f:
            for u in chosen:
                target = " ".join(map(str, vocab.encode(u.text))) if split == "train" else u.text
                f.write(f"{u.name},{target}\n")
    with open(root / MANIFEST, "w", encoding="utf-8") as f:
        f.write("name\tsplit\tvoice\tspeed\tpitch\tseconds\ttext\n")
        for u in utterances:
            f.write(f"{u.name}\t{u.split}\t{u.variant}\t{u.speed}\t{u.pitch}\t{seconds[u.name]:.3f}\t{u.text}\n")


def write_readme(root: Path, command: str, labels: Path) -> None:
    (root / "README").write_text(
        "Synthetic Korean speech in the layout of NAVER's 2019 speech hackathon; it is NOT NAVER's data.\n"
        "Voices: espeak-ng Korean with voice variants, resampled by sox to 16 kHz 16-bit mono PCM WAV.\n"
        f"Label ids in train/train_label refer to the label table {labels.name}.\n"
        "manifest.tsv lists voice, speed, pitch and duration of every utterance.\n"
        f"Made with:\n    {command}\n",
        encoding="utf-8",
    )


def publish(stage: Path, out: Path) -> None:
    """Swap the finished ``stage`` folder in place of ``out`` (renames within one parent folder)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old)


def make_dataset(
    out: Path, utterances: Sequence[Utterance], vocab: Vocab, jobs: int, command: str, labels: Path
) -> dict[str, float]:
    """Check, synthesise and write the whole dataset to ``out``; returns seconds of audio per utterance name."""
    check_transcripts(utterances, vocab)
    check_variants(utterances)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for folder in DATA_DIRS.values():
            (stage / folder).mkdir(parents=True)
        seconds = synthesize_all(utterances, stage, jobs)
        write_lists(utterances, stage, vocab, seconds)
        write_readme(stage, command, labels)
        publish(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m corpus.make_dataset",
        description=(
            "Synthesise a Korean speech dataset in the 2019 NAVER hackathon layout (train/train_data/data_list.csv, "
            "train/train_label with label ids, test/test_data/test_list.csv, test/test_label with text) from the "
            "bundled sentences (corpus/sentences_ko.txt) and any --text files, with espeak-ng voices and sox. "
            "The test split is held out: its sentences never occur in train, and the voice variants "
            f"{', '.join(TEST_ONLY_VARIANTS)} speak only in test. The same --seed gives the same dataset."
        ),
        epilog=(
            f"Train voices: {', '.join(TRAIN_VARIANTS)}. Speed is drawn from {SPEED_RANGE[0]}-{SPEED_RANGE[1]} "
            f"words/minute, pitch from {PITCH_RANGE[0]}-{PITCH_RANGE[1]}. Example: python -m corpus.make_dataset "
            "--out sample_dataset --train 64 --test 16 --seed 2019 --max_chars 10 --overwrite"
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to create")
    parser.add_argument("--train", required=True, type=int, metavar="N",
                        help="number of train utterances; sentences repeat with new voices if N exceeds them")
    parser.add_argument("--test", required=True, type=int, metavar="M",
                        help=f"number of test utterances, each a distinct held-out sentence (at least {len(TEST_ONLY_VARIANTS)})")
    parser.add_argument("--seed", type=int, default=0, help="seed for sentence, voice, speed and pitch choices (default: 0)")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS,
                        help="label table (id<TAB>char<TAB>freq) that must cover every transcript (default: the repo's hackathon.labels)")
    parser.add_argument("--text", nargs="+", default=[], metavar="FILE",
                        help="extra UTF-8 sentence files, one sentence per line; lines with characters other than "
                             "Hangul syllables, spaces and .?,! are skipped")
    parser.add_argument("--no_bundled", action="store_true", help="use only the --text files, not corpus/sentences_ko.txt")
    parser.add_argument("--max_chars", type=int, default=None,
                        help="skip sentences longer than this many characters (keeps a sample dataset small)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel synthesis jobs (default: the number of CPUs)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it holds a dataset made by this tool (one with a manifest.tsv)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.max_chars is not None and args.max_chars < 1:
        parser.error(f"--max_chars must be at least 1, got {args.max_chars}")
    if args.no_bundled and not args.text:
        parser.error("--no_bundled needs at least one --text file")
    if args.out.exists() and any(args.out.iterdir()):
        if not args.overwrite:
            parser.error(f"{args.out} exists and is not empty; pass --overwrite to replace it")
        if not (args.out / MANIFEST).is_file():
            parser.error(f"refusing to replace {args.out}: it has no {MANIFEST}, so it was not made by this tool")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        vocab = Vocab.from_file(args.labels)
        sentences = load_sentences(args.text, max_chars=args.max_chars, bundled=not args.no_bundled)
        utterances = plan_dataset(sentences, args.train, args.test, args.seed)
        command = shlex.join(["python", "-m", "corpus.make_dataset", *(sys.argv[1:] if argv is None else argv)])
        seconds = make_dataset(args.out, utterances, vocab, args.jobs, command, args.labels)
    except (LabelTableError, SynthesisError, ValueError, OSError) as err:
        sys.exit(f"make_dataset: error: {err}")
    log.info(
        "wrote %d train + %d test utterances (%.1f s of audio) to %s",
        args.train, args.test, sum(seconds.values()), args.out,
    )


if __name__ == "__main__":
    main()
