"""Training step: seconds of audio trained per second and peak memory, the 2019 baseline's step against the
project's, in float32 and bfloat16, with batches of 32 in file order and length-bucketed (``--batch_frames``).

    python -m benchmarks.train_step [--data DIR] [--hidden_size 512 [256 ...]] [--utterances 64] [--repeats 3]

Every path trains the same utterances (the first ``--utterances`` of the training list) from the same initial
weights, batches prepared beforehand (the data path is ``benchmarks.data_path``'s business): forward, backward
and optimizer step are timed. Each measurement runs in a fresh process (its peak RSS is that path's), paths in
turn, ``--repeats`` times; the table shows medians. The baseline's step is ``benchmarks.reference.seed_train_step``
(no masks, no packing, batches of 32 in file order, teacher forcing 0.5, float32, the seed's loss); the project's
is ``speech_kit.train``'s (``SpeechObjective`` under ``speech_kit.precision.autocast``), teacher forcing 0.5.
Two more rows (``--processes 2``) train the bucketed batches as a DDP job (gloo, ``nsml run --nproc 2``): the
same frames per optimizer step, split between processes that share the machine's compute threads.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from benchmarks.common import (add_common_args, alternate, durations, ensure_dataset, isolated, load_train, median,
                                peak_rss_mib, print_header, print_table, ratio, run_main, thread_plan)
from benchmarks.reference import seed_collate, seed_train_step
from models import ModelConfig, Seq2seq, build_model
from speech_kit.batching import FrameBudgetBatches, collate
from speech_kit.dataset import get_script
from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.features import Featurizer
from speech_kit.objectives import SpeechObjective
from speech_kit.precision import autocast
from speech_kit.vocab import Vocab

SEED_BATCH = 32
TEACHER_FORCING = 0.5


def plan_batches(frames: list[int], budget: int) -> list[list[int]]:
    """Index lists: batches of ``SEED_BATCH`` in file order (``budget`` 0) or ``FrameBudgetBatches(budget)``."""
    if not budget:
        return [list(range(s, min(s + SEED_BATCH, len(frames)))) for s in range(0, len(frames), SEED_BATCH)]
    return FrameBudgetBatches(budget, frames).plan([list(range(len(frames)))], random.Random(0))[0]


def seed_model(vocab: Vocab, hidden: int) -> tuple[Seq2seq, torch.optim.Optimizer, SpeechObjective]:
    """The model at the seed's settings (3 layers, attention, dropout 0.2) from seed 1, its Adam and its loss."""
    torch.manual_seed(1)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=hidden,
                         layer_size=3, use_attention=True)
    model = build_model(config, dropout=0.2).train()
    return model, torch.optim.Adam(model.parameters(), lr=1e-4), SpeechObjective(vocab)


def train_run(root: str, cache: str, count: int, hidden: int, path: str, precision: str, budget: int,
              rank: int = 0, world: int = 1) -> dict:
    """In a fresh process: time one pass over ``count`` utterances; ``path`` is ``seed`` or ``project``.

    With ``world`` > 1 this is rank ``rank`` of a DDP job (the process group is up): each rank trains every
    ``world``-th batch of ``budget // world`` frames, so a step covers ``budget`` frames as one process's does.
    """
    vocab, train = load_train(Path(root))
    featurize = CachedFeaturizer(Featurizer(), cache)
    feats = [featurize(p) for p in train.wav_paths[:count]]
    scripts = [get_script(s, train.targets, vocab.sos_id, vocab.eos_id) for s in train.script_paths[:count]]
    batches = plan_batches([f.size(0) for f in feats], budget // world)
    batches = batches[rank: len(batches) // world * world: world]
    collate_fn = seed_collate if path == "seed" else collate
    collated = [collate_fn([(feats[i], scripts[i]) for i in b], vocab.pad_id) for b in batches]
    padded = sum(c[0].shape[0] * c[0].shape[1] for c in collated)
    valid = sum(int(n) for c in collated for n in c[2])
    del feats
    model, optimizer, objective = seed_model(vocab, hidden)
    trained = DistributedDataParallel(model) if world > 1 else model
    rng = random.Random(1)
    losses = []
    if world > 1:
        dist.barrier()  # every rank starts the clock together
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in collated:
        if path == "seed":
            losses.append(seed_train_step(model, optimizer, vocab, batch[0], batch[1], TEACHER_FORCING, rng))
            continue
        with autocast("cpu", precision):
            step = objective(trained, batch, TEACHER_FORCING)
        optimizer.zero_grad(set_to_none=True)
        step.loss.backward()
        optimizer.step()
        losses.append(step.loss.item())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"seconds": seconds, "cpu_seconds": cpu, "batches": len(collated), "padded": padded, "valid": valid,
            "padding": 1 - valid / padded, "loss": losses[0],
            "parameters": sum(p.numel() for p in model.parameters())}


def _ddp_rank(rank: int, world: int, threads: int, folder: str, args: tuple) -> None:
    """One process of ``ddp_run``: join the gloo group, train its share, write its figures to ``folder``."""
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
    try:
        result = train_run(*args, rank=rank, world=world)
    finally:
        dist.destroy_process_group()
    result["peak_rss_mib"] = peak_rss_mib()
    (Path(folder) / f"{rank}.json").write_text(json.dumps(result))


def ddp_run(world: int, threads: int, *args: Any) -> dict:
    """``train_run(*args)`` as a DDP job of ``world`` processes of ``threads`` compute threads each (gloo, the
    engine ``nsml run --nproc`` uses on a CPU): the job's seconds are its slowest rank's (they start together),
    its CPU time, batches and peak memory the sums over ranks."""
    folder = tempfile.mkdtemp(prefix="ddp_bench_")
    try:
        torch.multiprocessing.spawn(_ddp_rank, args=(world, threads, folder, args), nprocs=world, join=True)
        ranks = [json.loads((Path(folder) / f"{r}.json").read_text()) for r in range(world)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    padded, valid = sum(r["padded"] for r in ranks), sum(r["valid"] for r in ranks)
    return {"seconds": max(r["seconds"] for r in ranks), "cpu_seconds": sum(r["cpu_seconds"] for r in ranks),
            "batches": f"{ranks[0]['batches']} x {world}", "padding": 1 - valid / padded, "loss": ranks[0]["loss"],
            "parameters": ranks[0]["parameters"], "peak_rss_mib": sum(r["peak_rss_mib"] for r in ranks)}


def profile_step(root: str, cache: str, count: int, hidden: int, precision: str, rows: int = 12) -> None:
    """Print the top operations by self CPU time of one project step on the first ``count`` utterances (one
    batch, file order), after one unprofiled step."""
    from torch.profiler import ProfilerActivity, profile

    vocab, train = load_train(Path(root))
    featurize = CachedFeaturizer(Featurizer(), cache)
    items = [(featurize(p), get_script(s, train.targets, vocab.sos_id, vocab.eos_id))
             for p, s in zip(train.wav_paths[:count], train.script_paths[:count])]
    batch = collate(items, vocab.pad_id)
    model, optimizer, objective = seed_model(vocab, hidden)

    def step() -> None:
        with autocast("cpu", precision):
            result = objective(model, batch, 1.0)  # teacher forcing: the decoder's cheaper half
        optimizer.zero_grad(set_to_none=True)
        result.loss.backward()
        optimizer.step()

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
    print(f"\nprofile: one project step, {precision}, {count} utterances in file order, hidden {hidden}, teacher "
          f"forcing on: {seconds:.2f} s")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def gru_comparison(root: str, cache: str, count: int, hidden: int, repeats: int) -> None:
    """Forward and backward of the encoder GRU alone on a real batch (``count`` utterances in file order, after
    the convolutions): packed, as ``models/encoder.py`` runs it, against ``speech_kit.rnn.run_gru``."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from speech_kit.rnn import run_gru

    vocab, train = load_train(Path(root))
    featurize = CachedFeaturizer(Featurizer(), cache)
    items = [(featurize(p), [vocab.sos_id]) for p in train.wav_paths[:count]]
    batch = collate(items, vocab.pad_id)
    torch.manual_seed(1)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=hidden,
                         layer_size=3, use_attention=True)
    encoder = build_model(config, dropout=0.2).train().encoder
    with torch.no_grad():
        x = encoder.conv(batch.feats.unsqueeze(1))
    b, c, t, f = x.shape
    x = x.transpose(1, 2).reshape(b, t, c * f).requires_grad_()
    lengths = (((batch.feat_lengths - 1) // 2 + 1 - 1) // 2 + 1).clamp(max=t)

    def packed() -> tuple[torch.Tensor, torch.Tensor]:
        out, hid = encoder.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return pad_packed_sequence(out, batch_first=True, total_length=t)[0], hid

    def fwd_bwd(run: Callable[[], tuple[torch.Tensor, torch.Tensor]], precision: str) -> Callable[[], None]:
        def go() -> None:
            with autocast("cpu", precision):
                out, hid = run()
            (out.float().sum() + hid.float().sum()).backward()
            x.grad = None
            encoder.zero_grad(set_to_none=True)
        return go

    cases = {f"{name}, {precision}": fwd_bwd(run, precision) for precision in ("fp32", "bf16")
             for name, run in (("packed (models/encoder.py)", packed),
                               ("dense (speech_kit.rnn.run_gru)", lambda: run_gru(encoder.rnn, x, lengths)))}
    times = alternate(cases, repeats, warmup=True)
    print(f"\nencoder GRU alone, forward + backward: {b} utterances x {t} frames x {c * f} features, hidden {hidden}")
    rows = []
    for precision in ("fp32", "bf16"):
        reference = median(times[f"packed (models/encoder.py), {precision}"])
        rows += [[name, f"{median(values):.2f}", ratio(reference, median(values))]
                 for name, values in times.items() if name.endswith(precision)]
    print_table(["GRU", "seconds", "vs packed"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_step", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--hidden_size", type=int, nargs="+", default=[512], help="GRU widths to measure")
    parser.add_argument("--utterances", type=int, default=64, help="utterances trained per measurement")
    parser.add_argument("--batch_frames", type=int, default=0,
                        help="frame budget of the bucketed paths (default: 32 x the mean utterance's frames, the "
                             "seed's batch size on average)")
    parser.add_argument("--processes", type=int, default=2,
                        help="also train the bucketed paths as a DDP job of this many processes, the compute "
                             "threads divided between them (nsml run --nproc); 1: skip")
    parser.add_argument("--skip_steps", action="store_true", help="only the --gru and --profile parts")
    parser.add_argument("--gru", action="store_true",
                        help="then time the encoder GRU alone, packed against speech_kit.rnn.run_gru")
    parser.add_argument("--profile", action="store_true",
                        help="then profile one project step (32 utterances) in fp32 and bf16: top ops by self CPU")
    args = parser.parse_args(argv)
    plan = thread_plan(args)
    root = ensure_dataset(args.data)
    print_header("training step", plan)
    vocab, train = load_train(root)
    paths = train.wav_paths[: args.utterances]
    audio = sum(durations(paths))
    cache = tempfile.mkdtemp(prefix="feature_cache_bench_")
    try:
        featurize = CachedFeaturizer(Featurizer(), cache)
        frames = [featurize(p).size(0) for p in paths]
        budget = args.batch_frames or -(-SEED_BATCH * sum(frames) // len(frames) // 1000) * 1000
        print(f"data: {root}: first {len(paths)} training utterances, {audio:.1f} s of audio; "
              f"--batch_frames {budget}; teacher forcing {TEACHER_FORCING}")
        cases = {"2019 baseline: fp32, 32 in file order": ("seed", "fp32", 0, 1),
                 "project: fp32, 32 in file order": ("project", "fp32", 0, 1),
                 "project: bf16, 32 in file order": ("project", "bf16", 0, 1),
                 f"project: fp32, --batch_frames {budget}": ("project", "fp32", budget, 1),
                 f"project: bf16, --batch_frames {budget}": ("project", "bf16", budget, 1)}
        if args.processes > 1:  # the same frames per step, shared by processes of fewer threads each
            for precision in ("fp32", "bf16"):
                cases[f"project: {precision}, --batch_frames {budget}, {args.processes} processes (DDP)"] = (
                    "project", precision, budget, args.processes)
        for hidden in [] if args.skip_steps else args.hidden_size:
            results: dict[str, list[dict]] = {name: [] for name in cases}
            for _ in range(args.repeats):
                for name, (path, precision, batches, world) in cases.items():
                    run_args = (str(root), cache, len(paths), hidden, path, precision, batches)
                    results[name].append(isolated(plan, train_run, *run_args) if world == 1 else
                                         ddp_run(world, max(1, plan.compute // world), *run_args))
            first = results[next(iter(cases))]
            reference = median([r["seconds"] for r in first])
            cpu_reference = median([r["cpu_seconds"] for r in first])
            print(f"\nhidden size {hidden}, 3 layers, attention, {first[0]['parameters']:,} parameters "
                  f"({len(vocab)} labels)")
            rows = []
            for name, runs in results.items():
                seconds = median([r["seconds"] for r in runs])
                cpu = median([r["cpu_seconds"] for r in runs])
                rows.append([name, runs[0]["batches"], f"{100 * runs[0]['padding']:.0f} %", f"{seconds:.1f}",
                             f"{cpu:.1f}", f"{audio / seconds:.1f}", ratio(reference, seconds),
                             ratio(cpu_reference, cpu), f"{median([r['peak_rss_mib'] for r in runs]):.0f}",
                             f"{runs[0]['loss']:.4f}"])
            print_table(["path", "batches", "padding", "wall s", "CPU s", "s of audio/s", "vs 2019", "vs 2019 (CPU)",
                         "peak RSS MiB", "first loss"], rows)
        if args.gru:
            gru_comparison(str(root), cache, SEED_BATCH, args.hidden_size[0], args.repeats)
        if args.profile:
            for precision in ("fp32", "bf16"):
                profile_step(str(root), cache, SEED_BATCH, args.hidden_size[0], precision)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
