"""Threads: training throughput with 1 or all cores' compute threads, with 1 or 4 loader threads, and with
OpenMP's waiting threads spinning (the default) or sleeping (``OMP_WAIT_POLICY=PASSIVE``).

    python -m benchmarks.threads [--data DIR] [--utterances 16] [--precision bf16] [--repeats 3]

Each setting trains one epoch (``speech_kit.train.train_epoch``, loader threads included) over the same
utterances, at the seed's model settings, in a fresh process (the OpenMP policy is read when torch starts).
A second table times one small operation (a feature of one file), where a thread that waits at a barrier for a
descheduled partner costs the most.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.common import (add_common_args, durations, ensure_dataset, isolated, load_train, median, print_header,
                                print_table, ratio, run_main, thread_plan)
from benchmarks.scale import epoch_run
from speech_kit.features import Featurizer, feature_frames
from speech_kit.threads import ThreadPlan


def feature_run(root: str, count: int) -> dict:
    """In a fresh process: seconds per file of the feature of the first ``count`` files (after one warm pass)."""
    _, train = load_train(Path(root))
    featurize = Featurizer()
    paths = train.wav_paths[:count]
    for path in paths:
        featurize(path).sum()
    start = time.perf_counter()
    for path in paths:
        featurize(path).sum()
    return {"seconds": (time.perf_counter() - start) / len(paths)}


def with_policy(policy: str | None, run: Callable[[], dict]) -> dict:
    """``run()`` with ``OMP_WAIT_POLICY`` set to ``policy`` (None: unset) in the environment it spawns with."""
    saved = os.environ.pop("OMP_WAIT_POLICY", None)
    if policy:
        os.environ["OMP_WAIT_POLICY"] = policy
    try:
        return run()
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)
        if saved is not None:
            os.environ["OMP_WAIT_POLICY"] = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threads", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--utterances", type=int, default=16, help="utterances of the epoch")
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    args = parser.parse_args(argv)
    plan = thread_plan(args)
    root = ensure_dataset(args.data)
    print_header("threads", plan)
    _, train = load_train(root)
    paths = train.wav_paths[: args.utterances]
    audio = sum(durations(paths))
    frames = feature_frames(paths)
    budget = -(-32 * sum(frames) // len(frames) // 1000) * 1000
    cores = plan.cores
    settings = [(1, 1, None), (1, 4, None), (cores, 1, None), (cores, 4, None), (cores, 1, "PASSIVE"),
                (cores, 4, "PASSIVE")]
    print(f"data: {root}: first {len(paths)} training utterances ({audio:.1f} s of audio); seed settings, "
          f"{args.precision}, --batch_frames {budget}")
    results: dict[tuple, list[dict]] = {s: [] for s in settings}
    small: dict[tuple, list[dict]] = {s: [] for s in [(1, None), (cores, None), (cores, "PASSIVE")]}
    for _ in range(args.repeats):
        for compute, workers, policy in settings:
            results[(compute, workers, policy)].append(with_policy(policy, lambda c=compute, w=workers: isolated(
                ThreadPlan(c, 1, cores), epoch_run, str(root), len(paths), 1, 512, args.precision, budget, w, None)))
        for compute, policy in small:
            small[(compute, policy)].append(with_policy(policy, lambda c=compute: isolated(
                ThreadPlan(c, 1, cores), feature_run, str(root), 20)))
    seconds = {setting: median([r["seconds"] for r in runs]) for setting, runs in results.items()}
    rows = [[compute, workers, policy or "unset (spin)", f"{s:.1f}", f"{audio / s:.1f}", ratio(seconds[settings[0]], s)]
            for (compute, workers, policy), s in seconds.items()]
    print_table(["compute threads", "loader threads", "OMP_WAIT_POLICY", "epoch s", "s of audio/s", "vs 1 thread"],
                rows)
    small_reference = median([r["seconds"] for r in small[(1, None)]])
    print_table(["compute threads", "OMP_WAIT_POLICY", "ms per feature", "vs 1 thread"],
                [[c, p or "unset (spin)", f"{1000 * median([r['seconds'] for r in runs]):.2f}",
                  ratio(small_reference, median([r["seconds"] for r in runs]))] for (c, p), runs in small.items()])
    print(f"torch default on this machine: {torch.get_num_threads()} compute threads")
    return 0


if __name__ == "__main__":
    run_main(main)
