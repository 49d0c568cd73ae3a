"""One precision context for every forward pass (training, evaluation, decoding), as nanoGPT's ``ctx``, and the
one place that says what runs in bfloat16.

``bf16`` is ``torch.autocast`` in bfloat16. On a CPU it moves the convolutions, the linear layers, attention's
matrix products and softmax, and the GRUs (whose internal matrix products it casts, so their gates and hidden
states are bfloat16 too) to bfloat16; checked op by op in ``tests/test_performance.py``. The losses stay float32
(objectives cast logits up first); batch normalisation keeps float32 statistics.

One module must not follow: the attention. On the memorisation test, a model all in bfloat16 never leaves the
language-model plateau, and putting the attention's ``linear_out`` over ``[mix; output]`` back in float32 alone is
enough to learn (the measurement: ``docs/performance.md``, "Precision"). While the attention is still nearly
uniform, what tells one utterance from another is a small variation of ``mix`` that bfloat16's 8-bit
mantissa rounds away. So the attention runs in float32 inside bf16 autocast (``full_precision``, used by
``models.attention.Attention``); it is a small part of the work (``B x L x T'`` and ``2H -> H`` products).

The GRUs stay in bfloat16: on a CPU with AMX their forward and backward passes are faster so
(``python -m benchmarks.train_step --gru``). On a CPU without AVX-512 BF16, bfloat16 is emulated and slower than
float32; the benchmarks print the measured ratio first.

Convolutions are timed, not assumed: before training in bf16, ``choose_module_precisions`` has each module that
offers ``choose_precision`` (the encoder's front end) time a training pass in bfloat16 and in float32 and keep
the faster. On an AMD EPYC with AVX-512 BF16 the Russian model's 8-channel convolutions took about twice as long
in bfloat16 (forward and backward: 130 against 60 ms over 1,000 frames), the Korean seed's 32 channels half as long
(700 against 1,400 ms); the GRUs were faster in bfloat16 in both.

``auto`` (the training entries' recipes use it) is bf16 where the hardware computes bfloat16 natively (a CPU with
AVX-512 BF16 or AMX, a CUDA device that supports it) and fp32 elsewhere: on an AVX2-only AMD EPYC a 512 x 512
matrix product took 264 ms in bfloat16 against 3.3 ms in float32, and a training step of the Russian model about
20 times as long, so bf16 there is a trap, not a speed-up.

``fp16`` is refused: the seed's spectrogram reaches about 1.25e6, far beyond float16's 65504.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.distributed as dist

PRECISIONS = ("fp32", "bf16")
CHOICES = (*PRECISIONS, "auto")  # what a command line accepts; resolve_precision turns auto into one of PRECISIONS
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs that compute bfloat16 in hardware


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU advertises bfloat16 arithmetic (Linux's flags); False where that cannot be read."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """``auto`` -> ``bf16`` where ``device`` computes bfloat16 natively, else ``fp32``; other values are checked
    and returned as they are."""
    if precision != "auto":
        return check_precision(precision)
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def check_precision(precision: str) -> str:
    if precision == "fp16":
        raise ValueError("precision fp16 is not supported: the seed's features reach ~1.25e6, beyond float16's "
                         "range (65504); use bf16, which has float32's range")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    return precision


def feature_dtype(precision: str) -> torch.dtype:
    """The dtype features may be kept in (the feature cache's entries) for a model computing in ``precision``:
    under bf16 the model's first operation, a convolution, rounds its input to bfloat16 anyway."""
    return torch.bfloat16 if check_precision(precision) == "bf16" else torch.float32


def autocast(device: torch.device | str, precision: str) -> AbstractContextManager:
    """The context every forward pass runs in: bf16 autocast, or nothing for fp32."""
    if check_precision(precision) == "fp32":
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def full_precision(device: torch.device | str) -> AbstractContextManager:
    """Autocast off inside: operations run in their inputs' dtype, so a module that casts its inputs to float32
    computes in float32 even under bf16 autocast (the attention does: see the module docstring)."""
    return torch.autocast(device_type=torch.device(device).type, enabled=False)


def time_alternately(steps: dict[str, Callable[[], None]], repeats: int = 3) -> dict[str, float]:
    """Median seconds of each step, after one untimed call of each; the steps take turns, so a drift of the
    machine's speed falls on all of them alike."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def choose_module_precisions(model: torch.nn.Module, device: torch.device | str) -> list[str]:
    """Before training in bf16: each submodule with a ``choose_precision(device)`` method (the encoder's
    convolutions) times its training pass in bfloat16 and float32 and keeps the faster, as cuDNN's benchmark mode
    picks an algorithm. Under ``torch.distributed`` every process measures and all keep rank 0's choices, so the
    ranks compute alike. Returns one line per module for the log: its timings and what it keeps."""
    tunable = [(name, module) for name, module in model.named_modules() if hasattr(module, "choose_precision")]
    lines, choices = [], []
    for name, module in tunable:
        seconds = module.choose_precision(device)
        choices.append(module.conv_precision)
        lines.append(f"{name or 'model'}: a training pass of its convolutions takes {seconds['bf16'] * 1000:.0f} ms "
                     f"in bf16, {seconds['fp32'] * 1000:.0f} ms in fp32")
    if dist.is_available() and dist.is_initialized():
        dist.broadcast_object_list(choices, src=0)
    for line_index, ((_, module), choice) in enumerate(zip(tunable, choices)):
        module.conv_precision = choice
        lines[line_index] += f": {'fp32' if choice == 'fp32' else 'bf16'} kept"
    return lines
