"""Write a synthetic Korean speech dataset in the 2019 hackathon's folder layout.

The committed ``sample_dataset/`` is made from the repository root with::

    python -m corpus.make_dataset --out sample_dataset --train 64 --test 16 --seed 2019 --max_chars 10 --overwrite

Steps: gather the sentence pool (``text_sources``), plan every utterance from the seed (``plan``), build or
check the label table, then render the audio in a process pool (``synthesize``) and write the lists, labels,
manifest and README (``dataset_files``). Every transcript is checked against the label table and every voice
variant against espeak-ng before any audio is made, and the dataset is built in a hidden sibling folder that
replaces ``--out`` only when complete, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from corpus.dataset_files import LABELS_FILE, MANIFEST, write_lists, write_manifest, write_readme
from corpus.konlpy_text import TextSourceError
from corpus.korean_text import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS
from corpus.plan import NO_NOISE, PlanSettings, Utterance, plan_dataset
from corpus.synthesize import synthesize_utterance
from corpus.text_sources import SOURCES, Sentence, load_corpus
from corpus.voices import TEST_ONLY_VARIANTS, TRAIN_VARIANTS
from speech_kit.cli import fail
from speech_kit.layout import DatasetError, test_data_dir, train_data_dir
from speech_kit.synth.espeak import require_variants
from speech_kit.synth.noise import make_noise_beds
from speech_kit.synth.tools import ToolError
from speech_kit.vocab import LabelTableError, Vocab

PROG = "python -m corpus.make_dataset"
DEFAULTS = PlanSettings()


def spellable(pool: Sequence[Sentence], labels: Path) -> list[Sentence]:
    """The sentences of ``pool`` that the label table ``labels`` can spell; says how many it leaves out."""
    chars = set(Vocab.from_file(labels).chars)
    kept = [s for s in pool if set(s.text) <= chars]
    if len(kept) < len(pool):
        print(f"{PROG}: left out {len(pool) - len(kept)} of {len(pool)} sentences with characters {labels} does not "
              "have (without --labels the table is built over every sentence)", file=sys.stderr)
    return kept


def label_table(pool: Sequence[Sentence], utterances: Sequence[Utterance], labels: Path | None) -> Vocab:
    """The table the dataset's label ids refer to: ``labels`` if given, else one built from ``pool``.

    Without ``labels`` it is built from the whole sentence pool, not just the sentences this dataset drew, so
    datasets of any size or seed from the same sources share one table. Either way every transcript must encode,
    which is checked here, before hours of synthesis.
    """
    if labels is None:
        counts = Counter(char for sentence in pool for char in sentence.text)
        vocab = Vocab.from_counts(counts, source=LABELS_FILE)
    else:
        vocab = Vocab.from_file(labels)
    for utt in utterances:
        try:
            vocab.encode(utt.text)
        except LabelTableError as err:
            raise LabelTableError(
                f"{utt.split} sentence {utt.text!r}: {err}; leave out --labels to build a table over the sentences, "
                "or rebuild yours with: python -m corpus.build_labels --corpus --out FILE"
            ) from None
    return vocab


def synthesize_all(utterances: Sequence[Utterance], root: Path, jobs: int,
                   noise_beds: Mapping[str, Path]) -> dict[str, float]:
    """Render every utterance under ``root`` with ``jobs`` processes; returns seconds of audio per name.

    Processes, not threads: besides waiting on espeak-ng and sox, each job pads, mixes and scales in NumPy.
    """
    folders = {"train": train_data_dir(root), "test": test_data_dir(root)}
    seconds: dict[str, float] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool, tqdm(total=len(utterances), unit="utt",
                                                             desc="synthesising") as bar:
        futures = {pool.submit(synthesize_utterance, u, folders[u.split], noise_beds): u for u in utterances}
        try:
            for future in as_completed(futures):
                seconds[futures[future].name] = future.result()
                bar.update()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return seconds


def publish(stage: Path, out: Path) -> None:
    """Swap the finished ``stage`` folder in place of ``out`` (renames within one parent folder)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old)


def make_dataset(out: Path, utterances: Sequence[Utterance], vocab: Vocab, labels: Path | None, jobs: int,
                 command: str) -> dict[str, float]:
    """Synthesise and write the whole dataset to ``out``; returns seconds of audio per utterance name.

    A reused table (``labels``) is copied byte for byte, comments and all; a built one is written out.
    """
    require_variants({u.variant for u in utterances})
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        train_data_dir(stage).mkdir(parents=True)
        test_data_dir(stage).mkdir(parents=True)
        with tempfile.TemporaryDirectory(prefix="noise-beds-") as beds_dir:
            noisy = any(u.noise != NO_NOISE for u in utterances)
            beds = make_noise_beds(beds_dir) if noisy else {}
            seconds = synthesize_all(utterances, stage, jobs, beds)
        write_lists(stage, utterances, vocab)
        if labels is None:
            vocab.write(stage / LABELS_FILE)
        else:
            shutil.copyfile(labels, stage / LABELS_FILE)
        write_manifest(stage, utterances, seconds)
        write_readme(stage, command, "built from the sentence pool" if labels is None else f"a copy of {labels}")
        publish(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    return seconds


def summary(out: Path, utterances: Sequence[Utterance], seconds: Mapping[str, float], wall: float, jobs: int,
            vocab: Vocab) -> str:
    """The closing report: counts, audio length, speed, noise and the voices of each split."""
    lines = []
    splits = {split: [u for u in utterances if u.split == split] for split in ("train", "test")}
    total = sum(seconds.values())
    lines.append(f"wrote {len(splits['train'])} train + {len(splits['test'])} test utterances to {out}")
    per_split = ", ".join(f"{s} {sum(seconds[u.name] for u in us):.1f} s" for s, us in splits.items())
    lines.append(f"audio: {total:.1f} s ({per_split}), mean {total / len(utterances):.2f} s per utterance")
    lines.append(f"wall time: {wall:.1f} s, {len(utterances) / wall:.2f} utterances/s with {jobs} job(s)")
    lines.append("noise: " + ", ".join(
        f"{sum(u.noise != NO_NOISE for u in us)} of {len(us)} {s}" for s, us in splits.items()))
    if any(u.augment for u in utterances):
        train = splits.get("train", [])
        lines.append("augmented train: " + ", ".join(f"{sum(test(u.augment) for u in train)} {name}" for name, test in (
            ("another speaker", lambda a: a.shift is not None), ("room", lambda a: a.reverb is not None),
            ("telephone", lambda a: a.channel != "none"))) + f" of {len(train)}")
    for split, us in splits.items():
        voices = sorted({u.variant for u in us}, key=str.lower)
        held_out = [v for v in voices if v in TEST_ONLY_VARIANTS]
        note = f", test-only: {' '.join(held_out)}" if held_out else ""
        lines.append(f"{split} voices ({len(voices)}{note}): {' '.join(voices)}")
    lines.append(f"label table: {out / LABELS_FILE} ({len(vocab) - 3} characters)")
    return "\n".join(lines)


def _jobs_default() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Synthesise a Korean speech dataset in the 2019 NAVER hackathon layout: train/train_data/data_list.csv "
            "('<name>.wav,<name>.label'), train/train_label (label ids), test/test_data/test_list.csv (one wav name "
            "per line), test/test_label (text), plus labels.txt (the label table), manifest.tsv and README. "
            "Sentences come from our hand-written files, templates with numbers spelled out in Hangul, and the "
            "kolaw/kobill corpora of the konlpy package; espeak-ng speaks them with many voice variants, rates "
            "and pitches, with 0-0.5 s of silence before and after, a peak level of -20..0 dBFS and optional "
            "white/pink/brown noise. The test split is held out: its sentences never occur in train, and the "
            f"voice variants {', '.join(TEST_ONLY_VARIANTS)} speak only in test. The same --seed gives the same "
            "dataset, byte for byte, whatever --jobs is."
        ),
        epilog=(
            f"Train voices: {' '.join(TRAIN_VARIANTS)}. Rate {DEFAULTS.speed_range[0]}-{DEFAULTS.speed_range[1]} "
            f"words/minute, pitch {DEFAULTS.pitch_range[0]}-{DEFAULTS.pitch_range[1]}. Example: {PROG} --out "
            "sample_dataset --train 64 --test 16 --seed 2019 --max_chars 10 --overwrite"
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="dataset folder to create")
    parser.add_argument("--train", required=True, type=int, metavar="N",
                        help="number of train utterances; sentences repeat with new voices if N exceeds them")
    parser.add_argument("--test", required=True, type=int, metavar="M",
                        help="number of test utterances, each a distinct held-out sentence "
                             f"(at least {len(TEST_ONLY_VARIANTS)}, one per test-only voice)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of every random choice: sentences, split, voices, rate, pitch, silences, level, "
                             "noise (default: 0)")
    parser.add_argument("-j", "--jobs", type=int, default=_jobs_default(),
                        help="parallel synthesis processes (default: the number of CPUs this process may use)")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES), metavar="SOURCE",
                        help=f"built-in sentence sources to draw from: {', '.join(SOURCES)} (default: all; kolaw "
                             "and kobill need the konlpy package)")
    parser.add_argument("--text", nargs="+", default=[], metavar="FILE",
                        help="extra UTF-8 sentence files, one sentence per line; digits are spelled out in Hangul and "
                             "commas dropped, and lines with other characters than Hangul, spaces and a final . ? ! "
                             "are skipped")
    parser.add_argument("--test_text", nargs="+", default=None, metavar="FILE",
                        help="hold the test split out by source: test sentences come only from these files (e.g. "
                             "corpus/heldout_ko_everyday.txt), and none of their sentences is used in train; with "
                             "it --train may be 0, a test-only dataset")
    parser.add_argument("--no_bundled", action="store_true",
                        help="use only the --text files, none of the built-in sources")
    parser.add_argument("--min_chars", type=int, default=DEFAULT_MIN_CHARS,
                        help=f"skip sentences shorter than this many characters (default: {DEFAULT_MIN_CHARS})")
    parser.add_argument("--max_chars", type=int, default=DEFAULT_MAX_CHARS,
                        help="skip sentences longer than this many characters; a small value keeps a sample "
                             f"dataset small (default: {DEFAULT_MAX_CHARS})")
    parser.add_argument("--labels", type=Path, default=None,
                        help="reuse this label table (id<TAB>char<TAB>freq, e.g. the repository's hackathon.labels); "
                             "it must cover every transcript and is copied to labels.txt (default: build the table "
                             "from every sentence of the pool)")
    parser.add_argument("--noise_fraction", type=float, default=DEFAULTS.test_noise_fraction, metavar="F",
                        help="share of test utterances mixed with noise (default: %(default)s)")
    parser.add_argument("--train_noise_fraction", type=float, default=DEFAULTS.train_noise_fraction, metavar="F",
                        help="share of train utterances mixed with noise (default: %(default)s)")
    parser.add_argument("--snr_range", type=float, nargs=2, default=DEFAULTS.test_snr_range, metavar=("LO", "HI"),
                        help="signal-to-noise ratio of noisy test utterances, in dB, drawn uniformly; speech and "
                             "noise power are both measured over the span of the speech (default: "
                             f"{DEFAULTS.test_snr_range[0]:g} {DEFAULTS.test_snr_range[1]:g})")
    parser.add_argument("--train_snr_range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                        help="signal-to-noise ratio of noisy train utterances, in dB (default: --snr_range)")
    for kind, what in (("shift", "spoken as another speaker: tempo, F0 and vocal-tract length shifted (WORLD)"),
                       ("reverb", "in a room (sox reverb)"),
                       ("telephone", "through a telephone line: 300-3400 Hz, 8 kHz, mu-law, A-law or GSM")):
        parser.add_argument(f"--train_{kind}_fraction", type=float, default=0.0, metavar="F",
                            help=f"share of train utterances {what} (default: 0; test utterances never are)")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace --out if it holds a dataset made by this tool (one with a {MANIFEST})")
    return parser


def _settings(args: argparse.Namespace) -> PlanSettings:
    return PlanSettings(
        test_noise_fraction=args.noise_fraction,
        train_noise_fraction=args.train_noise_fraction,
        test_snr_range=tuple(args.snr_range),
        train_snr_range=tuple(args.train_snr_range or args.snr_range),
        train_shift_fraction=args.train_shift_fraction,
        train_reverb_fraction=args.train_reverb_fraction,
        train_telephone_fraction=args.train_telephone_fraction,
    )


def main(argv: Sequence[str] | None = None) -> int:
    start = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.min_chars < 1 or args.max_chars < args.min_chars:
        parser.error(f"need 1 <= --min_chars <= --max_chars, got {args.min_chars} and {args.max_chars}")
    for flag in ("noise_fraction", "train_noise_fraction", "train_shift_fraction", "train_reverb_fraction",
                 "train_telephone_fraction"):
        if not 0 <= getattr(args, flag) <= 1:
            parser.error(f"--{flag} must lie between 0 and 1, got {getattr(args, flag)}")
    for flag in ("snr_range", "train_snr_range"):
        if getattr(args, flag) and getattr(args, flag)[0] > getattr(args, flag)[1]:
            parser.error(f"--{flag} LO HI needs LO <= HI, got {' '.join(map(str, getattr(args, flag)))}")
    if args.no_bundled and not args.text and not (args.test_text and args.train == 0):
        parser.error("--no_bundled needs at least one --text file")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        if not args.overwrite:
            parser.error(f"{args.out} exists and is not empty; pass --overwrite to replace it")
        if not (args.out / MANIFEST).is_file():
            parser.error(f"refusing to replace {args.out}: it has no {MANIFEST}, so it was not made by this tool")
    try:
        settings = _settings(args)
        sources = [] if args.no_bundled else args.sources
        pool = load_corpus(sources, args.text, args.min_chars, args.max_chars)
        held = load_corpus([], args.test_text, args.min_chars, args.max_chars) if args.test_text else None
        if args.labels is not None:
            pool, held = spellable(pool, args.labels), spellable(held, args.labels) if held else held
        utterances = plan_dataset(pool, args.train, args.test, args.seed, settings, held)
        vocab = label_table([*pool, *(held or ())], utterances, args.labels)
        command = shlex.join(["python", "-m", "corpus.make_dataset", *(sys.argv[1:] if argv is None else argv)])
        seconds = make_dataset(args.out, utterances, vocab, args.labels, args.jobs, command)
    except (LabelTableError, DatasetError, ToolError, TextSourceError, ValueError, OSError) as err:
        return fail(PROG, err)
    print(summary(args.out, utterances, seconds, time.perf_counter() - start, args.jobs, vocab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
