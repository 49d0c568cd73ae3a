"""Scale: one training epoch (``speech_kit.train.train_epoch``: loader threads, features, steps) at 1x, 4x and 16x
the data, by replicating the file list; epoch time should grow linearly and peak memory not at all.

    python -m benchmarks.scale [--data DIR] [--utterances 32] [--factors 1 4 16] [--precision bf16]
                               [--batch_frames N] [--feature_cache] [--replicate files|batches]
                               [--steady_memory [CAPACITY]]

Each factor runs in a fresh process (its peak RSS is the epoch's), factors in turn, ``--repeats`` times. Batches
are length-bucketed (``--batch_frames``, default 8 x the mean utterance's frames) at the seed's model settings.
One loader thread by default: each loader thread cuts its own share of the data into batches, so with main.py's
four the 1x data (8 utterances a thread) makes smaller batches than the 16x data, whose largest step then has
14 % more padded frames: a larger step, not more data. With one thread both epochs have the same largest batch
(the last column says). ``--steady_memory`` trains as ``main.py --steady_memory`` does (``speech_kit.steady_memory``);
the "malloc in use after" column is what the epoch left allocated.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import (add_common_args, durations, ensure_dataset, isolated, load_train, median, print_header,
                                print_table, run_main, thread_plan)
from models import ModelConfig, build_model
from speech_kit.batching import FrameBudgetBatches
from speech_kit.dataset import BaseDataset
from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.features import Featurizer, feature_frames
from speech_kit.objectives import SpeechObjective
from speech_kit.steady_memory import KERNEL_CACHE_CAPACITY, cap_kernel_caches, malloc_in_use
from speech_kit.train import TrainConfig, train_epoch


def epoch_run(root: str, count: int, factor: int, hidden: int, precision: str, budget: int, workers: int,
              cache: str | None, replicate: str = "files", steady: int = 0) -> dict:
    """In a fresh process: one epoch over the first ``count`` utterances, ``factor`` times as much data: the file
    list replicated (``files``, batched afresh) or the 1x epoch's batches repeated (``batches``); ``steady`` > 0:
    ``--steady_memory`` with kernel caches of that capacity."""
    if steady:
        cap_kernel_caches(steady)
    vocab, train = load_train(Path(root))
    copies = factor if replicate == "files" else 1
    wavs = train.wav_paths[:count] * copies
    scripts = train.script_paths[:count] * copies
    featurize = CachedFeaturizer(Featurizer(), cache) if cache else Featurizer()
    dataset = BaseDataset(wavs, scripts, train.targets, vocab.sos_id, vocab.eos_id, featurize)
    indices = list(range(len(wavs)))
    shards = [indices[w::workers] for w in range(workers)]
    frames = feature_frames(wavs)
    plans = FrameBudgetBatches(budget, frames).plan(shards, random.Random(1))
    if replicate == "batches":
        plans = [plan * factor for plan in plans]
    torch.manual_seed(1)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=hidden,
                         layer_size=3, use_attention=True)
    model = build_model(config, dropout=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    train_config = TrainConfig(workers=workers, precision=precision, steady_memory=bool(steady))
    start = time.perf_counter()
    metrics, _ = train_epoch(model, SpeechObjective(vocab), dataset, plans, optimizer, train_config,
                             torch.device("cpu"), show_progress=False, log_progress=False)
    seconds = time.perf_counter() - start
    largest = max(len(batch) * max(frames[i] for i in batch) for plan in plans for batch in plan)
    return {"seconds": seconds, "batches": sum(len(p) for p in plans), "loss": metrics["loss"],
            "in_use_mib": malloc_in_use() / 2**20, "largest_batch": largest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--utterances", type=int, default=32, help="utterances of the 1x data")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16], help="replications of the file list")
    parser.add_argument("--hidden_size", type=int, default=512)
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    parser.add_argument("--batch_frames", type=int, default=0,
                        help="default: 8 x the mean utterance's frames, so that the 1x data already fills its "
                             "batches and a larger epoch has more batches, not fuller ones")
    parser.add_argument("--workers", type=int, default=1,
                        help="loader threads (main.py starts 4; each cuts its own share of the data into batches)")
    parser.add_argument("--feature_cache", action="store_true", help="read features through a (pre-filled) cache")
    parser.add_argument("--replicate", choices=("files", "batches"), default="files",
                        help="files: the file list replicated and batched afresh (bigger data also fills batches "
                             "closer to --batch_frames); batches: the 1x epoch's batches repeated, so only the "
                             "amount of data changes")
    parser.add_argument("--steady_memory", type=int, nargs="?", const=KERNEL_CACHE_CAPACITY, default=0,
                        metavar="CAPACITY",
                        help="train as --steady_memory does: kernel caches capped (at CAPACITY primitives, default "
                             f"{KERNEL_CACHE_CAPACITY}), freed memory returned after every step")
    args = parser.parse_args(argv)
    if args.steady_memory < 0:
        parser.error(f"--steady_memory: a kernel cache capacity must be at least 1, got {args.steady_memory}")
    plan = thread_plan(args)
    root = ensure_dataset(args.data)
    print_header("scale: one epoch at several data sizes", plan)
    vocab, train = load_train(root)
    paths = train.wav_paths[: args.utterances]
    audio = sum(durations(paths))
    frames = feature_frames(paths)
    budget = args.batch_frames or -(-8 * sum(frames) // len(frames) // 1000) * 1000
    cache = tempfile.mkdtemp(prefix="feature_cache_bench_") if args.feature_cache else None
    try:
        if cache:
            featurize = CachedFeaturizer(Featurizer(), cache)
            for path in paths:
                featurize(path)
        print(f"data: {root}: first {len(paths)} training utterances ({audio:.1f} s of audio) x {args.factors}; "
              f"hidden {args.hidden_size}, {args.precision}, --batch_frames {budget}, {args.workers} loader "
              f"thread(s), feature cache {'on' if cache else 'off'}; replicated: {args.replicate}; steady memory: "
              f"{f'kernel caches of {args.steady_memory}' if args.steady_memory else 'off'}")
        results: dict[int, list[dict]] = {f: [] for f in args.factors}
        for _ in range(args.repeats):
            for factor in args.factors:
                results[factor].append(isolated(plan, epoch_run, str(root), len(paths), factor, args.hidden_size,
                                                args.precision, budget, args.workers, cache, args.replicate,
                                                args.steady_memory))
    finally:
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    base = args.factors[0]
    base_seconds = median([r["seconds"] for r in results[base]]) / base
    base_rss = median([r["peak_rss_mib"] for r in results[base]])
    rows = []
    for factor, runs in results.items():
        seconds = median([r["seconds"] for r in runs])
        rss = median([r["peak_rss_mib"] for r in runs])
        in_use = median([r["in_use_mib"] for r in runs])
        rows.append([f"{factor}x", len(paths) * factor, runs[0]["batches"], f"{seconds:.1f}",
                     f"{seconds / (factor * base_seconds):.2f}", f"{audio * factor / seconds:.1f}", f"{rss:.0f}",
                     f"{100 * (rss / base_rss - 1):+.1f} %", f"{in_use:.0f}", runs[0]["largest_batch"]])
    print_table(["data", "utterances", "batches", "epoch s", "epoch s / linear", "s of audio/s", "peak RSS MiB",
                 f"RSS vs {base}x", "malloc in use after MiB", "largest batch (padded frames)"], rows)
    return 0


if __name__ == "__main__":
    run_main(main)
