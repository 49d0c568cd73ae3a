"""Training step: seconds of audio trained per second and peak memory, the 2019 baseline's step against the
project's, in float32 and bfloat16, with batches of 32 in file order and length-bucketed (``--batch_frames``).

    python -m benchmarks.train_step [--data DIR] [--hidden_size 512 [256 ...]] [--utterances 64] [--repeats 3]
                                    [--original DIR]

Every path trains the same utterances (the first ``--utterances`` of the training list) from the same initial
weights, batches prepared beforehand (the data path is ``benchmarks.data_path``'s business): forward, backward
and optimizer step are timed. Each measurement runs in a fresh process (its peak RSS is that path's), paths in
turn, ``--repeats`` times; the table shows medians. The baseline's step is ``benchmarks.reference.seed_train_step``
(no masks, no packing, batches of 32 in file order, teacher forcing 0.5, float32, the seed's loss); the project's
is ``speech_kit.train``'s (``SpeechObjective`` under ``speech_kit.precision.autocast``), teacher forcing 0.5.
Two more rows (``--processes 2``) train the bucketed batches as a DDP job (gloo, ``nsml run --nproc 2``): the
same frames per optimizer step, split between processes that share the machine's compute threads.

With ``--original DIR`` (or ``$SPEECH_2019_CODE``), a folder holding a copy of the 2019 baseline's code, one more
row trains the baseline's batches with that code itself (``benchmarks.original``: its model, its ``train()``),
with the reference's teacher-forcing decisions: the check that the reference costs what the code it stands for
costs. ``--utterances 96`` on the 100-file data trains what the 2019 ``main.py`` trained of it (its
``split_dataset`` kept the 4 files past the third batch of 32 for validation).
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

from benchmarks import original as original_code
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
from speech_kit.threads import ThreadPlan
from speech_kit.vocab import Vocab

SEED_BATCH = 32
TEACHER_FORCING = 0.5
REFERENCE = "2019 baseline: fp32, 32 in file order"
ORIGINAL = "original 2019 code: fp32, 32 in file order"

# A row: (path, precision, --batch_frames budget or 0 for batches of 32 in file order, processes).
Case = tuple[str, str, int, int]


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


def prepare_batches(root: str, cache: str, count: int, path: str, budget: int, rank: int = 0, world: int = 1
                    ) -> tuple[Vocab, list]:
    """The first ``count`` utterances' batches planned by ``plan_batches(budget)``, every ``world``-th from
    ``rank`` (a DDP rank's share), collated as ``path`` collates them (``project``: the project's ``collate``;
    ``seed`` and ``original``: the seed's)."""
    vocab, train = load_train(Path(root))
    featurize = CachedFeaturizer(Featurizer(), cache)
    feats = [featurize(p) for p in train.wav_paths[:count]]
    scripts = [get_script(s, train.targets, vocab.sos_id, vocab.eos_id) for s in train.script_paths[:count]]
    batches = plan_batches([f.size(0) for f in feats], budget)
    collate_fn = collate if path == "project" else seed_collate
    return vocab, [collate_fn([(feats[i], scripts[i]) for i in b], vocab.pad_id)
                   for b in batches[rank: len(batches) // world * world: world]]


def train_run(root: str, cache: str, count: int, hidden: int, path: str, precision: str, budget: int,
              rank: int = 0, world: int = 1, original: str = "") -> dict:
    """In a fresh process: time one pass over ``count`` utterances; ``path`` is ``seed``, ``project`` or
    ``original`` (the 2019 code in the folder ``original``, on the seed's batches, in float32).

    With ``world`` > 1 this is rank ``rank`` of a DDP job (the process group is up): each rank trains every
    ``world``-th batch of ``budget // world`` frames, so a step covers ``budget`` frames as one process's does.
    """
    vocab, collated = prepare_batches(root, cache, count, path, budget // world, rank, world)
    padded = sum(c[0].shape[0] * c[0].shape[1] for c in collated)
    valid = sum(int(n) for c in collated for n in c[2])
    figures = {"batches": len(collated), "padded": padded, "valid": valid, "padding": 1 - valid / padded}
    if path == "original":
        return {**figures, **original_pass(original, Path(root), len(vocab), hidden, collated)}
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
    return {**figures, "seconds": seconds, "cpu_seconds": cpu, "loss": losses[0],
            "parameters": sum(p.numel() for p in model.parameters())}


def original_pass(folder: str, root: Path, vocab_size: int, hidden: int, collated: list) -> dict:
    """The 2019 code's ``train()`` over the collated batches, timed as ``train_run`` times the other paths; its
    teacher-forcing draws are the reference's (``random.Random(1)``, one per batch)."""
    main = original_code.load_original(folder)
    run = original_code.build(main, original_code.label_table(root), vocab_size,
                              original_code.Settings(hidden_size=hidden))
    start, cpu_start = time.perf_counter(), time.process_time()
    losses = original_code.train_pass(run, collated, TEACHER_FORCING, random.Random(1))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"seconds": seconds, "cpu_seconds": cpu, "loss": losses[0], "parameters": original_code.parameters(run)}


def same_training(root: str, cache: str, count: int, hidden: int, original: str) -> dict:
    """In a fresh process: the reference's steps and the 2019 code's ``train()`` over the same batches in file
    order, each from its model's initial weights (both models draw them in the same order from seed 1), with the
    same teacher-forcing decisions. Returns each batch's loss per target token on either side and the largest
    difference between the two models' weights afterwards: equal, the reference did the 2019 code's work,
    dropout masks included (a mask the 2019 code did not draw shifts every later one)."""
    vocab, collated = prepare_batches(root, cache, count, "seed", 0)
    model, optimizer, _ = seed_model(vocab, hidden)
    rng = random.Random(1)
    reference = [seed_train_step(model, optimizer, vocab, b[0], b[1], TEACHER_FORCING, rng) for b in collated]
    run = original_code.build(original_code.load_original(original), original_code.label_table(Path(root)),
                              len(vocab), original_code.Settings(hidden_size=hidden))
    losses = original_code.train_pass(run, collated, TEACHER_FORCING, random.Random(1))
    theirs = dict(run.model.module.named_parameters())
    differences = [float((p.detach() - theirs[name].detach()).abs().max()) if name in theirs else float("inf")
                   for name, p in model.named_parameters()]
    return {"reference": reference, "original": losses, "max_weight_difference": max(differences),
            "parameters": len(differences), "their_parameters": len(theirs)}


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


def measure(cases: dict[str, Case], root: str, cache: str, count: int, hidden: int, repeats: int, plan: ThreadPlan,
            original: str = "") -> dict[str, list[dict]]:
    """``train_run``'s figures for every case, ``repeats`` times, the cases in turn (A, B, C, A, B, C, ...), each
    measurement in a fresh process (``original``: the 2019 code's folder, for the ``original`` path)."""
    results: dict[str, list[dict]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (path, precision, budget, world) in cases.items():
            run_args = (root, cache, count, hidden, path, precision, budget)
            if world > 1:
                results[name].append(ddp_run(world, max(1, plan.compute // world), *run_args))
            elif path == "original":
                results[name].append(isolated(plan, train_run, *run_args, 0, 1, original))
            else:
                results[name].append(isolated(plan, train_run, *run_args))
    return results


def audio_rate(audio: float, runs: list[dict]) -> float:
    """Seconds of audio trained per second of wall time, over the median run."""
    return audio / median([r["seconds"] for r in runs])


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
    parser.add_argument("--original", type=Path, default=None,
                        help="also train with the 2019 baseline's own code from this folder (its main.py, loader.py, "
                             f"label_loader.py, models/; default: ${original_code.ENV_VAR} if set), next to the "
                             "reference that reproduces it")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"), default=["fp32", "bf16"],
                        help="the project's precisions to measure (default: both; fp32 alone where bf16 is emulated: "
                             "the header's bf16/fp32 matmul ratio far below 1 means hours per bf16 row)")
    parser.add_argument("--skip_steps", action="store_true", help="only the --gru and --profile parts")
    parser.add_argument("--gru", action="store_true",
                        help="then time the encoder GRU alone, packed against speech_kit.rnn.run_gru")
    parser.add_argument("--profile", action="store_true",
                        help="then profile one project step (32 utterances) in fp32 and bf16: top ops by self CPU")
    args = parser.parse_args(argv)
    plan = thread_plan(args)
    folder = original_code.folder_from(args.original)
    if folder is not None:  # before the data and the header: a wrong folder fails at once, in one line
        folder = original_code.check_folder(folder)
        isolated(plan, original_code.check_import, str(folder))
    root = ensure_dataset(args.data)
    print_header("training step", plan)
    if folder is not None:
        print(f"original 2019 code: {folder}")
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
        cases: dict[str, Case] = {REFERENCE: ("seed", "fp32", 0, 1)}
        if folder is not None:
            cases[ORIGINAL] = ("original", "fp32", 0, 1)
        cases |= {f"project: {precision}, 32 in file order": ("project", precision, 0, 1)
                  for precision in args.precisions}
        cases |= {f"project: {precision}, --batch_frames {budget}": ("project", precision, budget, 1)
                  for precision in args.precisions}
        if args.processes > 1:  # the same frames per step, shared by processes of fewer threads each
            for precision in args.precisions:
                cases[f"project: {precision}, --batch_frames {budget}, {args.processes} processes (DDP)"] = (
                    "project", precision, budget, args.processes)
        for hidden in [] if args.skip_steps else args.hidden_size:
            results = measure(cases, str(root), cache, len(paths), hidden, args.repeats, plan, str(folder or ""))
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
                             f"{cpu:.1f}", f"{audio_rate(audio, runs):.1f}", ratio(reference, seconds),
                             ratio(cpu_reference, cpu), f"{median([r['peak_rss_mib'] for r in runs]):.0f}",
                             f"{runs[0]['loss']:.4f}"])
            print_table(["path", "batches", "padding", "wall s", "CPU s", "s of audio/s", "vs 2019", "vs 2019 (CPU)",
                         "peak RSS MiB", "first loss"], rows)
            if folder is not None:
                rate = audio_rate(audio, results[REFERENCE]) / audio_rate(audio, results[ORIGINAL])
                print(f"reference / original 2019 code, s of audio/s: {rate:.3f} ({100 * (rate - 1):+.1f} %)")
        if args.gru:
            gru_comparison(str(root), cache, SEED_BATCH, args.hidden_size[0], args.repeats)
        if args.profile:
            for precision in args.precisions:
                profile_step(str(root), cache, SEED_BATCH, args.hidden_size[0], precision)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
