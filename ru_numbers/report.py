"""How well predictions match a labelled manifest: ``python -m ru_numbers.report TRUTH.csv PREDICTIONS.csv``.

Prints exact-match accuracy, the character error rate of the digits, gender accuracy, the same broken down by
speaking rate, noise, SNR and voice variant (from the manifest's condition columns), and the numbers it got wrong.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import Levenshtein

from ru_numbers.manifest import ManifestError, read_manifest
from speech_kit.cli import fail

PROG = "python -m ru_numbers.report"


@dataclass
class Tally:
    utterances: int = 0
    exact: int = 0
    distance: int = 0
    length: int = 0
    gender: int = 0

    def add(self, truth: str, hyp: str, gender_ok: bool) -> None:
        self.utterances += 1
        self.exact += truth == hyp
        self.distance += Levenshtein.distance(truth, hyp)
        self.length += len(truth)
        self.gender += gender_ok

    def row(self, name: str) -> str:
        n = max(self.utterances, 1)
        return (f"{name:<22} {self.utterances:>6} {100 * self.exact / n:>8.2f} "
                f"{100 * self.distance / max(self.length, 1):>7.2f} {100 * self.gender / n:>8.2f}")


HEADER = f"{'':<22} {'utts':>6} {'exact %':>8} {'CER %':>7} {'gender %':>8}"


def bucket(value: str, edges: Iterable[float], unit: str) -> str:
    """The ``[lo, hi)`` range of ``edges`` holding ``value``, as a label."""
    x = float(value)
    edges = list(edges)
    for lo, hi in zip(edges, edges[1:]):
        if lo <= x < hi:
            return f"{lo:g}-{hi:g} {unit}"
    return f">={edges[-1]:g} {unit}" if x >= edges[-1] else f"<{edges[0]:g} {unit}"


def part(row: dict[str, str]) -> str:
    """Which part of a held-out set a row is: espeak-ng speech, or Festival's voice by its shift's kind
    (``natural``, ``male_deep``, ``female_far`` on the test side); rows of other manifests have no part."""
    if row.get("source") == "festival":
        return f"festival {row.get('shift') or '?'}"
    return row.get("source") or "?"


GROUPS: dict[str, Callable[[dict[str, str]], str]] = {
    "part": part,
    "channel": lambda r: r.get("channel") or "?",
    "rate": lambda r: bucket(r["rate"], [80, 130, 180, 230, 300], "wpm") if r.get("rate") else "?",
    "noise": lambda r: r.get("noise") or "?",
    "snr": lambda r: bucket(r["snr_db"], [5, 10, 20, 30], "dB") if r.get("snr_db") else "clean",
    "voice": lambda r: r.get("variant") or r.get("spk_id", "?"),
    "digits": lambda r: f"{len(r['transcription'])} digit(s)",
}


def read_predictions(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """``evaluate``'s output by file name; a ``KeyError`` or ``OSError`` when it is not one."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {row["filename"]: row for row in csv.DictReader(f)}


@dataclass
class Result:
    """How predictions fared against a manifest: overall, by each of ``GROUPS``, and the rows they got wrong."""

    total: Tally
    groups: dict[str, dict[str, Tally]]
    wrong: list[tuple[dict[str, str], dict[str, str]]]


def score(truth: list[dict[str, str]], predicted: dict[str, dict[str, str]], source: str) -> Result:
    """Tally ``predicted`` (from the file ``source``) against ``truth``; a ``ValueError`` names a file without a
    prediction."""
    missing = [r["filename"] for r in truth if r["filename"] not in predicted]
    if missing:
        raise ValueError(f"{source}: no prediction for {len(missing)} file(s), e.g. {missing[0]}")
    result = Result(Tally(), {name: defaultdict(Tally) for name in GROUPS}, [])
    for row in truth:
        hyp = predicted[row["filename"]]
        gender_ok = hyp["gender"] == row["gender"]
        result.total.add(row["transcription"], hyp["transcription"], gender_ok)
        for name, key in GROUPS.items():
            result.groups[name][key(row)].add(row["transcription"], hyp["transcription"], gender_ok)
        if hyp["transcription"] != row["transcription"] or not gender_ok:
            result.wrong.append((row, hyp))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("truth", help="manifest with filename,transcription,gender (and condition columns)")
    parser.add_argument("predictions", help="evaluate's output: filename,transcription,gender")
    parser.add_argument("--wrong", type=int, default=30, help="list at most this many wrong numbers")
    args = parser.parse_args(argv)
    try:
        result = score(read_manifest(args.truth), read_predictions(args.predictions), args.predictions)
    except (ManifestError, OSError, KeyError, ValueError) as err:
        return fail(PROG, err)
    print(HEADER)
    print(result.total.row("all"))
    for name, tallies in result.groups.items():
        print(f"-- by {name}")
        for key in sorted(tallies):
            print(tallies[key].row(key))
    print(f"-- wrong ({len(result.wrong)}):")
    for row, hyp in result.wrong[: args.wrong]:
        print(f"  {row['filename']}: {row['transcription']} {row['gender']} -> {hyp['transcription'] or '(none)'} "
              f"{hyp['gender']}  [{row.get('variant', '')} rate {row.get('rate', '')} "
              f"noise {row.get('noise', '')} {row.get('snr_db', '')}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
