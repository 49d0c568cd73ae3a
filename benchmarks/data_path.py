"""Data path: wav files -> padded batches, the 2019 baseline's way against the project's loader, with and without
the feature cache (``speech_kit.feature_cache``).

    python -m benchmarks.data_path [--data DIR] [--workers 2] [--repeats 3]

Paths, each over the whole training list in file-order batches of 32:

- ``2019 baseline``: the seed's feature (``benchmarks.reference.seed_feature``) file by file in one thread, and its
  collate.
- ``project loader``: ``Featurizer`` in ``BaseDataset``, read by ``MultiLoader`` threads into the queue.
- ``+ feature cache``: the same loader with ``CachedFeaturizer``: ``fill`` starts from an empty cache, the other
  passes read a full one; the last row adds length-bucketed batches (``--batch_frames``, 32 x the mean
  utterance's frames), which collate less padding.
- ``+ bfloat16 cache``: the entries ``main.py --precision bf16 --feature_cache DIR`` keeps (the model's first
  convolution rounds its input to bfloat16 anyway, so training is the same), read by two loader threads and by
  one (``--workers 1``), the last with length-bucketed batches too.

``cold`` passes first drop the files they read (wavs, and cache entries) from the operating system's page cache
(``posix_fadvise(DONTNEED)``), as after a reboot or when the data set outgrows memory; ``warm`` passes follow a
pass over the same files. Ratios are against the baseline at the same temperature. One more row times a cache hit
keyed by a content hash of the wav instead of its size and modification time (the key ``feature_cache`` uses).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import queue
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from benchmarks.common import (add_common_args, alternate, durations, ensure_dataset, load_train, median, print_header,
                                print_table, ratio, run_main, thread_plan)
from benchmarks.reference import seed_collate, seed_feature
from speech_kit.batching import FrameBudgetBatches, MultiLoader, iterate_batches
from speech_kit.dataset import BaseDataset, TrainList, get_script
from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.features import Featurizer, feature_frames
from speech_kit.threads import apply_threads
from speech_kit.vocab import Vocab

BATCH = 32


def evict(paths: Sequence[str | os.PathLike]) -> None:
    """Drop ``paths`` from the page cache (flushing them first, so freshly written files go too)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def seed_pass(train: TrainList, vocab: Vocab) -> None:
    paths = train.wav_paths
    for start in range(0, len(paths), BATCH):
        items = [(seed_feature(paths[i]), get_script(train.script_paths[i], train.targets, vocab.sos_id, vocab.eos_id))
                 for i in range(start, min(start + BATCH, len(paths)))]
        seed_collate(items, vocab.pad_id)


def loader_pass(train: TrainList, vocab: Vocab, featurize: Callable, workers: int,
                batches: list[list[int]] | None = None) -> None:
    """The project's loader over ``batches`` (default: ``BATCH`` utterances in file order)."""
    dataset = BaseDataset(train.wav_paths, train.script_paths, train.targets, vocab.sos_id, vocab.eos_id, featurize)
    if batches is None:
        batches = [list(range(s, min(s + BATCH, len(train.wav_paths)))) for s in range(0, len(train.wav_paths), BATCH)]
    worker_batches = [batches[w::workers] for w in range(workers)]
    batch_queue: queue.Queue = queue.Queue(workers * 2)
    loader = MultiLoader([dataset] * workers, batch_queue, BATCH, workers, vocab.pad_id, worker_batches)
    loader.start()
    for _ in iterate_batches(batch_queue, workers):
        pass
    loader.join()


def content_key_pass(train: TrainList, cached: CachedFeaturizer) -> None:
    """A cache hit keyed by the wav's content: read and hash the whole file, then read the entry."""
    for path in train.wav_paths:
        hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()
        cached(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data_path", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--workers", type=int, default=2, help="loader threads of the project's path")
    args = parser.parse_args(argv)
    plan = thread_plan(args)
    root = ensure_dataset(args.data)
    print_header("data path: wav -> padded batches", plan)
    apply_threads(plan)
    vocab, train = load_train(root)
    audio = sum(durations(train.wav_paths))
    count = len(train.wav_paths)
    print(f"data: {root}: {count} utterances, {audio:.1f} s of audio (mean {audio / count:.2f} s); "
          f"batches of {BATCH} in file order; project loader: {args.workers} thread(s)")
    featurizer = Featurizer()
    cache_root = Path(tempfile.mkdtemp(prefix="feature_cache_bench_"))
    try:
        def cached(dtype: torch.dtype = torch.float32) -> CachedFeaturizer:
            return CachedFeaturizer(featurizer, cache_root, dtype)

        def entries() -> list[Path]:  # the float32 entries (cold passes leave the bfloat16 ones warm)
            return sorted(cached().cache.folder.glob("*/*.npy"))

        def evict_wavs() -> None:
            evict(train.wav_paths)

        def evict_all() -> None:
            evict(train.wav_paths + entries())

        def seed() -> None:
            seed_pass(train, vocab)

        def plain() -> None:
            loader_pass(train, vocab, featurizer, args.workers)

        def hit() -> None:
            loader_pass(train, vocab, cached(), args.workers)

        frames = feature_frames(train.wav_paths)
        budget = -(-BATCH * sum(frames) // len(frames) // 1000) * 1000
        bucketed = FrameBudgetBatches(budget, frames).plan([list(range(count))], random.Random(0))[0]

        def hit_bf16() -> None:
            loader_pass(train, vocab, cached(torch.bfloat16), args.workers)

        def hit_bf16_one_thread() -> None:
            loader_pass(train, vocab, cached(torch.bfloat16), 1)

        def hit_bf16_bucketed_one_thread() -> None:
            loader_pass(train, vocab, cached(torch.bfloat16), 1, bucketed)

        def hit_bucketed() -> None:
            loader_pass(train, vocab, cached(), args.workers, bucketed)

        def empty() -> None:  # the float32 entries
            shutil.rmtree(cached().cache.folder, ignore_errors=True)

        def content_key() -> None:
            content_key_pass(train, cached())

        cases = {"2019 baseline, cold": (evict_wavs, seed), "2019 baseline, warm": seed,
                 "project loader, cold": (evict_wavs, plain), "project loader, warm": plain,
                 "+ feature cache, fill": (empty, hit), "+ feature cache, cold": (evict_all, hit),
                 "+ feature cache, warm": hit, "+ cache keyed by content hash, warm": content_key,
                 f"+ cache + --batch_frames {budget}, warm": hit_bucketed,
                 "+ bfloat16 cache (--precision bf16), warm": hit_bf16,
                 "+ bfloat16 cache, 1 loader thread, warm": hit_bf16_one_thread,
                 f"+ bfloat16 cache + --batch_frames {budget}, 1 loader thread, warm": hit_bf16_bucketed_one_thread}
        times = alternate(cases, args.repeats, warmup=True)
        sizes = {name: sum(p.stat().st_size for p in cached(dtype).cache.folder.glob("*/*.npy"))
                 for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16))}
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    rows = []
    for name, values in times.items():
        seconds = median(values)
        reference = median(times["2019 baseline, cold" if "cold" in name else "2019 baseline, warm"])
        rows.append([name, f"{count / seconds:.0f}", f"{audio / seconds:.0f}", f"{1000 * seconds / count:.3f}",
                     ratio(reference, seconds)])
    print_table(["path", "utt/s", "s of audio/s", "ms/utt", "vs 2019 (same temperature)"], rows)
    wav_bytes = sum(os.path.getsize(p) for p in train.wav_paths)
    for name, size in sizes.items():
        print(f"{name} cache size: {size / 2**20:.1f} MiB for {audio:.0f} s of audio ({size / wav_bytes:.1f}x the "
              f"wav files)")
    return 0


if __name__ == "__main__":
    run_main(main)
