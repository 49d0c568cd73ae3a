"""Time to accuracy: the wall minutes from a training run's start until its model reaches a given CRR on a held-out
split, for the Korean recipe's configuration and variants of it (and the Russian numbers recipe's: exact match).

    python -m benchmarks.time_to_accuracy --base root/ko_synth/1 --rows recipe one_process fp32 file_order finetune \\
        --minutes 8 --out docs/img/time_to_accuracy

``--base`` names a local NSML session of ``main.py`` (the recipe's own run, ``recipes/korean.sh``); its dataset,
arguments and number of processes are what every row starts from. A row is either the base session itself
(``recipe``: scored, nothing is trained; it must have run with ``--snapshot_minutes``), or a new session on the same
dataset with the base arguments changed as the row says, run for ``--minutes`` of wall time and then stopped (every
row the same budget, one after another, so that they share the machine's state). A row that changes the number of
processes keeps the frames an optimizer step sees: ``--batch_frames`` is per process, so one process of a
two-process base gets twice the frames. Every run saves snapshots, checkpoints named by the seconds since it started
(``main.py --snapshot_minutes``); afterwards, off the training clock, each snapshot is transcribed on ``--heldout``
greedily and with the shipped model's recommended decoding (its beam, its n-gram LM over the whole text pool, its
length bonus) and scored.

A ``--heldout`` that is a CSV is a Russian numbers manifest (``ru_numbers.generate``): the base is then a session of
``ru_numbers/train.py`` (``recipes/russian.sh``), and each snapshot is scored by the share of numbers recognised
exactly (greedy CTC, the shipped decoding).

The minutes to a CRR are those of the first snapshot at or above it: an upper bound, finer with more frequent
snapshots. A fine-tuning row's first point is the model it starts from, at minute 0.
Writes ``OUT.csv`` (every snapshot's figures), ``OUT.md`` (the table) and ``OUT.png`` (CRR against wall minutes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import ROOT, machine_lines
from entry.epochs import snapshot_seconds
from evaluation.transcribe import expand_inputs
from models import DecodingOptions, load_checkpoint
from models.lm import LM_FILE, NgramLM
from models.recommended import describe, read_recommended, with_recommended
from models.transcribe import transcribe
from nsml import checkpoints, home
from ru_numbers.manifest import audio_path, read_manifest
from ru_numbers.recognizer import Recognizer
from speech_kit.cli import fail
from speech_kit.features import Featurizer
from speech_kit.layout import DatasetError, key_of
from speech_kit.scoring import read_test_labels, score
from speech_kit.threads import recommended_threads
from speech_kit.units import TextUnits

PROG = "python -m benchmarks.time_to_accuracy"
TARGETS = (50.0, 80.0, 90.0)
SHIPPED = ROOT / "pretrained" / "korean"


@dataclass(frozen=True)
class Row:
    """A configuration: the base arguments with ``drop`` flags removed and ``set`` flags given these values."""

    title: str
    set: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    nproc: int | None = None  # None: the base session's
    trains: bool = True  # False: the base session itself, scored as it is
    init: str = ""  # the checkpoint a fine-tuning row starts from: scored as its minute 0


ROWS = {
    "recipe": Row("the recipe's own run (the base session, to its end)", trains=False),
    "scratch": Row("the recipe's configuration, from scratch"),
    "fp32": Row("float32 matmuls (--precision fp32)", set={"--precision": "fp32"}),
    "bf16": Row("bfloat16 autocast (--precision bf16)", set={"--precision": "bf16"}),
    "file_order": Row("file order: batches of 32 in list order, no frame-budget buckets",
                      set={"--batch_size": "32"}, drop=("--batch_frames",)),
    "one_process": Row("1 process of two threads (frames per step kept)", set={"--workers": "2"}, nproc=1),
    "ddp2": Row("2 DDP processes (torchrun), one thread each (frames per step kept)", nproc=2),
    "finetune": Row("from the shipped model (--init pretrained/korean --lr 5e-4)",
                    set={"--init": "pretrained/korean", "--lr": "5e-4"}, init="pretrained/korean"),
}


class TimeToAccuracyError(RuntimeError):
    """The benchmark cannot go on (an unknown session, a run that failed); printed as one line."""


def changed_args(args: str, row: Row, snapshot_minutes: float, base_nproc: int = 1) -> str:
    """``args`` (main.py flags) with ``row``'s changes and ``--snapshot_minutes``; flags are ``--name [value]``.
    A row run as another number of processes than the base's ``base_nproc`` has its per-process
    ``--batch_frames`` scaled so that an optimizer step sees as many frames."""
    tokens = shlex.split(args)
    nproc = row.nproc or base_nproc
    if nproc != base_nproc and "--batch_frames" in tokens and "--batch_frames" not in row.set \
            and "--batch_frames" not in row.drop:
        at = tokens.index("--batch_frames") + 1
        tokens[at] = str(int(tokens[at]) * base_nproc // nproc)
    out: list[str] = []
    index = 0
    while index < len(tokens):
        flag = tokens[index]
        takes_value = index + 1 < len(tokens) and not tokens[index + 1].startswith("--")
        width = 2 if takes_value else 1
        if flag not in row.drop and flag not in row.set and flag != "--snapshot_minutes":
            out.extend(tokens[index:index + width])
        index += width
    for flag, value in {**row.set, "--snapshot_minutes": f"{snapshot_minutes:g}"}.items():
        out.extend((flag, value))
    return " ".join(shlex.quote(token) for token in out)


def _nsml(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nsml", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise TimeToAccuracyError(f"nsml {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def session_record(name: str) -> dict:
    for record in json.loads(_nsml("ps", "--json")):
        if record["name"] == name:
            return record
    raise TimeToAccuracyError(f"no session {name!r} (python -m nsml ps lists them)")


def run_row(base: dict, row: Row, minutes: float, snapshot_minutes: float, memo: str) -> str:
    """Start ``row`` as a detached session on the base's dataset, stop it after ``minutes``; returns its name."""
    nproc = row.nproc or base["nproc"]
    args = changed_args(base["args"], row, snapshot_minutes, base["nproc"])
    name = _nsml("run", "-d", base["dataset"], "-e", base["entry"], "-a", args, "--nproc", str(nproc),
                 "-m", memo, "--detach").strip().splitlines()[-1]
    print(f"  {name}: {args} (--nproc {nproc}), {minutes:g} min", flush=True)
    deadline = time.time() + minutes * 60
    while time.time() < deadline:
        if session_record(name)["status"] not in ("queued", "running"):
            break
        time.sleep(5)
    else:
        _nsml("stop", name)
    status = session_record(name)["status"]
    if status.startswith("failed"):
        raise TimeToAccuracyError(f"{name} {status}: python -m nsml logs {name}")
    return name


def snapshots(session: str) -> list[tuple[int, Path]]:
    """(elapsed seconds, checkpoint folder) of every snapshot the session saved, in time order."""
    root = home.session_dir(session) / "checkpoints"
    taken = []
    for name in checkpoints.names(root):
        seconds = snapshot_seconds(name)
        if seconds is not None:
            checkpoints.resolve(root, name, session)  # refuses a link that leads out of the session's checkpoints
            taken.append((seconds, root / name))
    return sorted(taken)


@dataclass(frozen=True)
class Heldout:
    """The Korean split every snapshot is scored on: CRR greedily and with the recommended decoding."""

    wavs: list[str]
    references: dict[str, str]
    measures = ("crr_greedy", "crr_recommended")  # the last is the headline: the table's and the plot's

    @classmethod
    def read(cls, folder: Path) -> Heldout:
        return cls(expand_inputs([str(folder / "test" / "test_data" / "test_list.csv")]),
                   read_test_labels(folder / "test" / "test_label"))

    def crrs(self, checkpoint: Path, decodings: Sequence[DecodingOptions], lm: NgramLM | None) -> list[float]:
        """The CRR of ``checkpoint`` (loaded once) under each of ``decodings``."""
        loaded = load_checkpoint(checkpoint)
        model, featurizer, units = loaded.build(), Featurizer(loaded.features), TextUnits(loaded.units)
        out = []
        for options in decodings:
            texts = transcribe(model, loaded.vocab, self.wavs, options, featurizer, units=units,
                               lm=lm if options.lm_weight else None)
            out.append(score(self.references, {key_of(w): t for w, t in zip(self.wavs, texts)}).crr)
        return out


@dataclass(frozen=True)
class NumbersHeldout:
    """A Russian numbers manifest every snapshot is scored on: the share of numbers recognised exactly."""

    paths: list[str]
    numbers: list[str]
    measures = ("exact",)

    @classmethod
    def read(cls, manifest: Path) -> NumbersHeldout:
        rows = read_manifest(manifest)
        return cls([str(audio_path(manifest, row)) for row in rows], [row["transcription"] for row in rows])

    def exact(self, checkpoint: Path) -> list[float]:
        results = Recognizer.load(checkpoint)(self.paths)
        return [100 * sum(r.transcription == n for r, n in zip(results, self.numbers)) / len(self.numbers)]


def read_scored(path: Path, measures: Sequence[str]) -> dict[tuple[str, str], dict[str, float]]:
    """(session, checkpoint) -> figures, from an earlier run's CSV; a CSV without these measures is refused."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = [m for m in ("session", "checkpoint", *measures) if rows and m not in rows[0]]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (not this benchmark's CSV for this held-out split)")
    return {(r["session"], r["checkpoint"]): {m: float(r[m]) for m in measures} for r in rows}


def minutes_to(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """The minutes of the first (minutes, CRR) point at or above ``target``; None when none reaches it."""
    return next((minutes for minutes, crr in points if crr >= target), None)


def table(results: dict[str, list[dict]], budget: float, measures: Sequence[str] = Heldout.measures) -> list[str]:
    """One row per configuration: minutes to each target of the headline measure (the last), and its best point."""
    headline = measures[-1]
    head = "| row | configuration | " + " | ".join(f"min to {t:g}" for t in TARGETS) + \
           f" | best {' / '.join(measures)} | at min |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, points in results.items():
        curve = [(p["minutes"], p[headline]) for p in points]
        reached = [minutes_to(curve, t) for t in TARGETS]
        best = max(points, key=lambda p: p[headline]) if points else None
        cells = [f"{m:.1f}" if m is not None else f"> {max((p['minutes'] for p in points), default=budget):.1f}"
                 for m in reached]
        figures = (" / ".join(f"{best[m]:.2f}" for m in measures) + f" | {best['minutes']:.1f}"
                   if best else "- | -")
        lines.append(f"| {name} | {ROWS[name].title} | " + " | ".join(cells) + f" | {figures} |")
    return lines


def plot(results: dict[str, list[dict]], path: Path, title: str, measure: str = "crr_recommended",
         label: str = "CRR on the held-out split (recommended decoding)") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, points in results.items():
        ax.plot([p["minutes"] for p in points], [p[measure] for p in points], marker="o", label=name)
    for target in TARGETS:
        ax.axhline(target, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xlabel("wall minutes since the run started")
    ax.set_ylabel(label)
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].replace("\n", " "),
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="rows:\n" + "\n".join(f"  {k:<11} {r.title}" for k, r in ROWS.items()))
    parser.add_argument("--base", required=True,
                        help="the local NSML session whose dataset and main.py arguments every row starts from "
                             "(recipes/korean.sh's run, e.g. root/ko_synth/3)")
    parser.add_argument("--rows", nargs="+", default=["recipe"], choices=list(ROWS), metavar="ROW",
                        help=f"configurations, in order (default: recipe): {', '.join(ROWS)}")
    parser.add_argument("--minutes", type=float, default=12.0,
                        help="wall minutes each training row runs before it is stopped (default: %(default)s)")
    parser.add_argument("--snapshot_minutes", type=float, default=2.0,
                        help="minutes between a training row's snapshots (default: %(default)s)")
    parser.add_argument("--heldout", type=Path, default=ROOT / "data" / "ko_everyday",
                        help="held-out split scored (hackathon layout; default: the recipe's out-of-source split, "
                             "data/ko_everyday), or a Russian numbers manifest (a .csv: exact match is scored)")
    parser.add_argument("--decoding_from", type=Path, default=SHIPPED,
                        help="checkpoint folder whose decoding.json and lm.json give the recommended decoding "
                             "(default: pretrained/korean)")
    parser.add_argument("--sessions", nargs="*", default=[], metavar="ROW=SESSION",
                        help="score a row from a session already run (e.g. ddp2=root/ko_synth/5) instead of "
                             "training it again")
    parser.add_argument("--scored", type=Path, metavar="CSV",
                        help="an earlier run's OUT.csv: a snapshot it scored (same session and checkpoint) is read "
                             "from it, not scored again (adding rows to a table already made)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "time_to_accuracy",
                        help="prefix of the CSV, markdown table and plot written (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    given = dict(item.split("=", 1) for item in args.sessions if "=" in item)
    wrong = [item for item in args.sessions if "=" not in item or item.split("=", 1)[0] not in ROWS]
    if wrong:
        parser.error(f"--sessions takes ROW=SESSION with ROW one of {', '.join(ROWS)}; got {', '.join(wrong)}")
    numbers = args.heldout.suffix == ".csv"
    try:
        base = session_record(args.base)
        heldout = NumbersHeldout.read(args.heldout) if numbers else Heldout.read(args.heldout)
        recommended = {} if numbers else read_recommended(args.decoding_from)
        lm_path = args.decoding_from / LM_FILE
        lm = NgramLM.load(lm_path) if lm_path.is_file() and not numbers else None
    except (TimeToAccuracyError, DatasetError, OSError, ValueError) as err:
        return fail(PROG, err)
    greedy = DecodingOptions(max_len=80)
    best = with_recommended(greedy, recommended)
    decoding = "greedy CTC, exact match" if numbers else describe(best)
    measure = heldout.exact if numbers else (lambda folder: heldout.crrs(folder, (greedy, best), lm))
    print(f"== time to accuracy on {args.heldout} ({len(heldout.numbers if numbers else heldout.wavs)} utterances) ==")
    print(f"command: {PROG} {' '.join(argv if argv is not None else sys.argv[1:])}")
    for line in machine_lines(recommended_threads()):
        print(line)
    print(f"base: {args.base} on {base['dataset']}: {base['args']}")
    print(f"scored: {decoding if numbers else f'{decoding} with {lm_path}'}; training rows: {args.minutes:g} min "
          f"each, snapshots every {args.snapshot_minutes:g} min", flush=True)
    sessions: dict[str, str] = {}
    results: dict[str, list[dict]] = {}
    try:
        scored = read_scored(args.scored, heldout.measures) if args.scored else {}
        for name in args.rows:
            row = ROWS[name]
            if not row.trains:
                sessions[name] = args.base
            elif name in given:
                sessions[name] = given[name]
            else:
                print(f"training row {name}: {row.title}", flush=True)
                sessions[name] = run_row(base, row, args.minutes, args.snapshot_minutes, f"time to accuracy: {name}")
        print(f"load average after training: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for name in args.rows:
            row = ROWS[name]
            taken = [(0, ROOT / row.init)] if row.init else []
            taken += snapshots(sessions[name])
            if not taken:
                raise TimeToAccuracyError(f"{sessions[name]} saved no snapshots: run it with main.py "
                                          "--snapshot_minutes")
            points = []
            for seconds, folder in taken:
                known = scored.get((sessions[name], folder.name))
                figures = known or dict(zip(heldout.measures, measure(folder)))
                point = {"row": name, "session": sessions[name], "checkpoint": folder.name,
                         "minutes": round(seconds / 60, 2), **figures}
                points.append(point)
                said = ", ".join(f"{key} {value:.2f}" for key, value in figures.items())
                print(f"  {name} {sessions[name]} {point['minutes']:6.1f} min: {said}", flush=True)
            results[name] = points
    except (TimeToAccuracyError, OSError, ValueError) as err:
        return fail(PROG, err)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = [p for points in results.values() for p in points]
    with open(args.out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = table(results, args.minutes, heldout.measures)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    label = "exact match on the held-out set, %" if numbers else "CRR on the held-out split (recommended decoding)"
    plot(results, args.out.with_suffix(".png"), f"time to accuracy on {args.heldout.name}: {decoding}",
         heldout.measures[-1], label)
    print("\n".join(lines))
    print(f"wrote {args.out.with_suffix('.csv')}, {args.out.with_suffix('.md')}, {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
