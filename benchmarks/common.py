"""What every benchmark shares: the machine header, the benchmark data, A/B timing, isolated runs, tables.

Timings on a shared machine move with other people's jobs, so a benchmark never compares against a figure from
another run: it alternates the paths it compares (A, B, A, B, ...), repeats, and reports medians and their ratio.
Peak memory is the ``ru_maxrss`` of a fresh process per measurement (``isolated``), so one path's peak does not
hide another's.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import soundfile as sf
import torch

from speech_kit.dataset import TrainList, read_train_list
from speech_kit.threads import ThreadPlan, apply_threads, launch_environment, recommended_threads
from speech_kit.vocab import Vocab

ROOT = Path(__file__).resolve().parent.parent
DATA_TRAIN, DATA_TEST, DATA_SEED = 100, 20, 1
DATA_FOLDER = Path(tempfile.gettempdir()) / "speech_kit_benchmarks" / f"ko_{DATA_TRAIN}_{DATA_TEST}_seed{DATA_SEED}"


class BenchmarkError(RuntimeError):
    """A benchmark cannot run (no data, generator failed); printed as one line."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help=f"dataset in the hackathon layout (default: {DATA_TRAIN} train and {DATA_TEST} test "
                             f"utterances made once by corpus.make_dataset --seed {DATA_SEED} in {DATA_FOLDER})")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch compute threads in every measured process (default: speech_kit.threads' "
                             "recommendation for this machine)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each path, alternated; medians")


def thread_plan(args: argparse.Namespace) -> ThreadPlan:
    plan = recommended_threads()
    return ThreadPlan(args.threads, plan.interop, plan.cores) if args.threads else plan


# --- the machine ---------------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def matmul_rates(size: int = 1024, repeats: int = 5) -> tuple[float, float]:
    """Measured GFLOP/s of a ``size``-square matrix product in float32 and in bfloat16 (alternated, medians).

    The ratio is what bf16 autocast can at best bring to the matrix products of a step on this CPU (AMX tiles
    where present, else AVX-512 BF16 dot products, else emulation, slower than float32).
    """
    a32, b32 = torch.randn(size, size), torch.randn(size, size)
    a16, b16 = a32.bfloat16(), b32.bfloat16()
    flops = 2.0 * size**3
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    start = time.perf_counter()
    torch.mm(a16, b16)
    if time.perf_counter() - start > 0.2:  # emulated bf16 (~1 GFLOP/s): one product says enough, 25 take a minute
        repeats, products = 1, 1
    else:
        products = 4
    for _ in range(repeats):
        for name, (a, b) in (("fp32", (a32, b32)), ("bf16", (a16, b16))):
            torch.mm(a, b)  # warm the kernel and its packing buffers
            start = time.perf_counter()
            for _ in range(products):
                torch.mm(a, b)
            times[name].append((time.perf_counter() - start) / products)
    return flops / statistics.median(times["fp32"]) / 1e9, flops / statistics.median(times["bf16"]) / 1e9


def machine_lines(plan: ThreadPlan) -> list[str]:
    """The header every benchmark prints: CPU, threads, load, and the measured bf16/fp32 matmul ratio."""
    flags = cpu_flags()
    isa = ", ".join(f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags) or "no AVX-512"
    apply_threads(plan)
    fp32, bf16 = matmul_rates()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [f"machine: {cpu_model()} ({isa}); {plan.cores} usable core(s); torch {torch.__version__}",
            f"threads: {plan.compute} compute, {plan.interop} inter-op; OMP_WAIT_POLICY="
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}; load average at start {load}",
            f"matmul 1024^3: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s: bf16/fp32 = {bf16 / fp32:.1f}x"]


def print_header(title: str, plan: ThreadPlan, command: Sequence[str] | None = None) -> None:
    print(f"== {title} ==")
    print("command: python -m " + " ".join(command if command is not None else [_module(), *sys.argv[1:]]))
    for line in machine_lines(plan):
        print(line)
    sys.stdout.flush()


def _module() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return spec.name if spec is not None else Path(sys.argv[0]).stem


# --- the data ------------------------------------------------------------------------------------------------

def ensure_dataset(path: Path | None) -> Path:
    """``path`` if given (it must hold ``train/train_data``), else the generated benchmark dataset, made once."""
    if path is not None:
        if not (path / "train" / "train_data").is_dir():
            raise BenchmarkError(f"--data {path}: no train/train_data folder (the hackathon layout)")
        return path
    if (DATA_FOLDER / "manifest.tsv").is_file():
        return DATA_FOLDER
    DATA_FOLDER.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "corpus.make_dataset", "--out", str(DATA_FOLDER), "--train", str(DATA_TRAIN),
               "--test", str(DATA_TEST), "--seed", str(DATA_SEED), "--overwrite"]
    print(f"making the benchmark data once: {' '.join(command[1:])}", file=sys.stderr)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BenchmarkError(f"corpus.make_dataset failed ({last}); pass --data DIR with a dataset instead")
    return DATA_FOLDER


def dataset_vocab(root: Path) -> Vocab:
    """The dataset's own label table (``labels.txt``, as corpus.make_dataset writes), else the kit's."""
    table = root / "labels.txt"
    return Vocab.from_file(table if table.is_file() else ROOT / "hackathon.labels")


def load_train(root: Path) -> tuple[Vocab, TrainList]:
    vocab = dataset_vocab(root)
    return vocab, read_train_list(str(root), vocab)


def durations(paths: Sequence[str]) -> list[float]:
    """Seconds of audio of each file, from its header."""
    return [sf.info(p).duration for p in paths]


# --- timing --------------------------------------------------------------------------------------------------

Case = Callable[[], Any] | tuple[Callable[[], Any], Callable[[], Any]]


def alternate(cases: dict[str, Case], repeats: int, warmup: bool = False) -> dict[str, list[float]]:
    """Seconds of each case, run in turn (A, B, C, A, B, C, ...) ``repeats`` times; optionally one warm-up round.

    A case is a callable, or a ``(setup, run)`` pair whose ``setup`` runs untimed before each ``run``.
    """
    def split(case: Case) -> tuple[Callable[[], Any] | None, Callable[[], Any]]:
        return case if isinstance(case, tuple) else (None, case)

    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(repeats + int(warmup)):
        for name, case in cases.items():
            setup, run = split(case)
            if setup is not None:
                setup()
            start = time.perf_counter()
            run()
            if round_ >= int(warmup):
                times[name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measured(plan: ThreadPlan, function: Callable[..., dict], args: tuple) -> dict:
    apply_threads(plan)
    result = function(*args)
    result.setdefault("peak_rss_mib", peak_rss_mib())  # a function that starts processes reports theirs
    return result


def isolated(plan: ThreadPlan, function: Callable[..., dict], *args: Any) -> dict:
    """``function(*args)`` (module-level, returning a dict) in a fresh process with ``plan``'s threads; its
    result gains ``peak_rss_mib``, that process's peak resident memory."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        result = pool.submit(_measured, plan, function, args).result()
    if "seconds" in result:
        print(f"  {getattr(function, '__name__', 'run')}{args[2:]}: {result['seconds']:.1f} s", file=sys.stderr,
              flush=True)
    return result


# --- output --------------------------------------------------------------------------------------------------

def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table (pastes into docs/performance.md as it is)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x"


def run_main(main: Callable[[list[str] | None], int]) -> None:
    """Run a benchmark's ``main`` and turn a ``BenchmarkError`` into one line on stderr (status 2).

    Benchmarks measure under the environment ``speech_kit.threads.launch_environment`` recommends; OpenMP reads
    it only when torch loads, so without it the benchmark starts itself again with it (set ``OMP_WAIT_POLICY``
    to measure another policy).
    """
    from speech_kit.cli import fail

    if "OMP_WAIT_POLICY" not in os.environ:
        os.execve(sys.executable, [sys.executable, "-m", _module(), *sys.argv[1:]], launch_environment(os.environ))
    try:
        status = main(None)
    except BenchmarkError as err:
        status = fail(_module(), err)
    sys.exit(status)
