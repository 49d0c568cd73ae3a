"""Make a spoken Russian numbers data set: ``python -m ru_numbers.generate --out DIR --count N``.

One command makes the training set and another the test set; the test set uses voices and numbers the training
set never contains, because the split of both is fixed by name and by hash rather than by the seed:

    python -m ru_numbers.generate --out data --split train --count 20000 --seed 1 --jobs 2
    python -m ru_numbers.generate --out data --split test --count 2000 --seed 2 --jobs 2

Each writes ``DIR/<split>.csv`` (``filename,transcription,gender,spk_id`` and the condition columns of
``ru_numbers.manifest``) and the WAV files under ``DIR/<split>/``. The plan is drawn first, from one seeded
generator, and then carried out by a process pool, so the result does not depend on ``--jobs``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from tqdm import tqdm

from ru_numbers.manifest import write_manifest
from ru_numbers.plan import FESTIVAL, PlanOptions, Utterance, make_plan
from ru_numbers.render import noise_bank, render_batch
from ru_numbers.sampling import SPLITS
from ru_numbers.voices import HELDOUT_VOICES
from speech_kit.cli import fail
from speech_kit.synth.noise import NO_NOISE
from speech_kit.synth.tools import ToolError, require

PROG = "python -m ru_numbers.generate"
FESTIVAL_BATCH = 25  # Festival utterances per Festival process: loading the voice costs about a second


def build_parser() -> argparse.ArgumentParser:
    defaults = PlanOptions(count=1, seed=0)
    p = argparse.ArgumentParser(prog=PROG, description="Speak Russian numbers 1..999999 with espeak-ng voices "
                                "and write a data set (WAV files and a CSV manifest).")
    p.add_argument("--out", required=True, help="data set folder (created if missing)")
    p.add_argument("--count", type=int, required=True, help="utterances to make")
    p.add_argument("--seed", type=int, default=0, help="seed of the plan (default 0)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPU count)")
    p.add_argument("--split", choices=SPLITS, default="train",
                   help="train: voices and numbers outside the held-out sets; test: the held-out voices and "
                        "numbers (default train)")
    p.add_argument("--csv", default=None, help="manifest file name inside --out (default: SPLIT.csv)")
    p.add_argument("--holdout_voices", nargs="+", default=list(HELDOUT_VOICES), metavar="VARIANT",
                   help=f"voice variants reserved for the test split (default: {' '.join(HELDOUT_VOICES)}); "
                        "give the same list to both commands")
    p.add_argument("--holdout_fraction", type=float, default=defaults.holdout_fraction,
                   help="share of the numbers reserved for the test split, by a fixed hash (default %(default)s)")
    p.add_argument("--noise_fraction", type=float, default=defaults.noise_fraction,
                   help="share of utterances with white, pink or brown noise (default %(default)s)")
    p.add_argument("--snr_min", type=float, default=defaults.snr_min, help="lowest SNR in dB (default %(default)s)")
    p.add_argument("--snr_max", type=float, default=defaults.snr_max, help="highest SNR in dB (default %(default)s)")
    p.add_argument("--rate_min", type=int, default=defaults.rate_min,
                   help="slowest speaking rate, words/minute (default %(default)s)")
    p.add_argument("--rate_max", type=int, default=defaults.rate_max,
                   help="fastest speaking rate, words/minute (default %(default)s)")
    p.add_argument("--silence_max", type=float, default=defaults.silence_max,
                   help="most silence before and after the speech, seconds each (default %(default)s)")
    p.add_argument("--level_min", type=float, default=defaults.level_min,
                   help="lowest peak level, dBFS (default %(default)s)")
    p.add_argument("--level_max", type=float, default=defaults.level_max,
                   help="highest peak level, dBFS (default %(default)s)")
    p.add_argument("--bare_thousand_fraction", type=float, default=defaults.bare_thousand_fraction,
                   help="share of 1000..1999 said as 'тысяча ...' without 'одна' (default %(default)s)")
    natural = p.add_argument_group("natural voice and channel (each off by default; see ru_numbers/natural.py)")
    natural.add_argument("--festival_fraction", type=float, default=defaults.festival_fraction,
                         help="share said by Festival's Russian voice (festvox-ru), shifted in rate, pitch and vocal "
                              "tract; the test split gets shifts training never hears (default %(default)s)")
    natural.add_argument("--telephone_fraction", type=float, default=defaults.telephone_fraction,
                         help="share sent through a telephone channel: 300-3400 Hz, 8 kHz, mu-law, A-law or GSM "
                              "(default %(default)s)")
    natural.add_argument("--reverb_fraction", type=float, default=defaults.reverb_fraction,
                         help="share given room reverberation (default %(default)s)")
    natural.add_argument("--pitch_free", action="store_true",
                         help="draw espeak-ng's pitch from 0..99 whatever the voice's gender, so that pitch alone "
                              "cannot tell the gender (a test of the gender classifier)")
    return p


def options_from(args: argparse.Namespace) -> PlanOptions:
    return PlanOptions(
        count=args.count, seed=args.seed, split=args.split, holdout_voices=tuple(args.holdout_voices),
        holdout_fraction=args.holdout_fraction, rate_min=args.rate_min, rate_max=args.rate_max,
        silence_max=args.silence_max, level_min=args.level_min, level_max=args.level_max,
        noise_fraction=args.noise_fraction, snr_min=args.snr_min, snr_max=args.snr_max,
        bare_thousand_fraction=args.bare_thousand_fraction, pitch_free=args.pitch_free,
        festival_fraction=args.festival_fraction, telephone_fraction=args.telephone_fraction,
        reverb_fraction=args.reverb_fraction,
    )


def render_all(plan: Sequence[Utterance], out: Path, jobs: int, show_progress: bool = True) -> list[float]:
    """Render every utterance with ``jobs`` processes; the durations in plan order. The first failure stops the
    pool (queued work is cancelled) and is raised."""
    with tempfile.TemporaryDirectory(prefix=".noise-", dir=out) as tmp:
        bank = noise_bank(tmp) if any(u.noise != NO_NOISE for u in plan) else {}
        festival = [i for i, utt in enumerate(plan) if utt.source == FESTIVAL]
        tasks = [[i] for i, utt in enumerate(plan) if utt.source != FESTIVAL]
        tasks += [festival[start:start + FESTIVAL_BATCH] for start in range(0, len(festival), FESTIVAL_BATCH)]
        with ProcessPoolExecutor(jobs) as pool:
            futures = {pool.submit(render_batch, [plan[i] for i in task], out, bank): task for task in tasks}
            seconds = [0.0] * len(plan)
            pending = set(futures)
            with tqdm(total=len(plan), desc=f"speaking {out}", unit="utt", disable=not show_progress) as bar:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        if future.exception() is not None:
                            pool.shutdown(cancel_futures=True)
                            raise future.exception()
                        for i, value in zip(futures[future], future.result(), strict=True):
                            seconds[i] = value
                        bar.update(len(futures[future]))
    return seconds


def manifest_rows(plan: Sequence[Utterance], seconds: Sequence[float]) -> list[dict[str, object]]:
    return [{
        "filename": u.filename, "transcription": u.transcription, "gender": u.gender, "spk_id": u.spk_id,
        "variant": u.variant, "rate": "" if u.shift else u.rate, "pitch": "" if u.shift else u.pitch,
        "lead_s": u.lead_s, "trail_s": u.trail_s,
        "level_db": u.level_db, "noise": u.noise, "snr_db": "" if u.snr_db is None else u.snr_db,
        "seconds": f"{s:.3f}", "text": u.text, "source": u.source,
        "shift": "" if u.shift is None else u.shift.kind,
        "tempo": "" if u.shift is None else u.shift.tempo,
        "f0_ratio": "" if u.shift is None else u.shift.f0_ratio,
        "formant_ratio": "" if u.shift is None else u.shift.formant_ratio,
        "channel": u.channel, "reverb": "" if u.reverb is None else f"{u.reverb[0]}/{u.reverb[1]}",
    } for u, s in zip(plan, seconds, strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.jobs < 1:
        return fail(PROG, f"--jobs must be at least 1, got {args.jobs}")
    csv_name = args.csv or f"{args.split}.csv"
    if os.path.basename(csv_name) != csv_name or not csv_name:
        return fail(PROG, f"--csv must be a file name without folders, got {csv_name!r}")
    try:
        plan = make_plan(options_from(args))
        require("espeak-ng")
        require("sox")
        if any(u.source == FESTIVAL for u in plan):
            require("festival")
    except (ValueError, ToolError) as err:
        return fail(PROG, err)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return fail(PROG, f"cannot create {out}: {err.strerror}")
    started = time.monotonic()
    try:
        seconds = render_all(plan, out, args.jobs)
        write_manifest(out / csv_name, manifest_rows(plan, seconds))
    except (ToolError, ValueError, RuntimeError) as err:
        return fail(PROG, err)
    except OSError as err:
        return fail(PROG, f"cannot write under {out}: {err.strerror or err}")
    wall = time.monotonic() - started
    print(f"{out / csv_name}: {len(plan)} utterances, {sum(seconds) / 3600:.2f} h of audio, "
          f"{wall:.1f} s with {args.jobs} job(s) ({len(plan) / wall:.1f} utterances/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
