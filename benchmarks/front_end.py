"""Front ends: what the encoder's two convolutions cost against its GRUs, for several kernels and time strides.

    python -m benchmarks.front_end [--front_ends 41x11,21x11 21x11,11x11 21x11,11x11/2,3 ...] [--utterances 20]
                                   [--frames 250] [--precision bf16] [--repeats 5]

A front end is its two convolutions' (time x frequency) kernels, optionally followed by ``/S1,S2``, their time
strides (the seed's 2,2: the GRUs see one frame per 40 ms; 2,3: one per 60 ms, a third fewer GRU steps).
The model is the Russian recogniser's by default (80 log-mel bands, 8 channels, three bidirectional GRU layers
of 192, CTC over 44 labels, a gender head). For each front end, one training pass (forward, CTC loss,
backward) over a batch of noise is timed whole and for the convolutions alone, in one process, the front ends
alternated (A, B, A, B, ...) after one untimed round; the table shows medians of wall and CPU seconds and the
ratio to the first. Under ``--precision bf16`` each encoder first times its convolutions both ways and keeps
the faster, as training does (``EncoderRNN.choose_precision``).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.nn import functional as F

from benchmarks.common import median, print_header, print_table, ratio, run_main, thread_plan
from models import ModelConfig, build_model
from models.config import (CONV_KERNELS, CONV_TIME_STRIDES, format_conv_kernels, format_conv_time_strides,
                           parse_conv_kernels, parse_conv_time_strides)
from speech_kit.precision import autocast, full_precision
from speech_kit.threads import apply_threads


FrontEnd = tuple[tuple[tuple[int, int], tuple[int, int]], tuple[int, int]]


def parse_front_end(text: str) -> FrontEnd:
    """``"21x11,11x11/2,3"`` -> ``(((21, 11), (11, 11)), (2, 3))``; without ``/...`` the seed's strides 2,2."""
    kernels, _, strides = text.partition("/")
    return parse_conv_kernels(kernels), parse_conv_time_strides(strides) if strides else CONV_TIME_STRIDES


def front_end_name(front_end: FrontEnd) -> str:
    kernels, strides = front_end
    name = format_conv_kernels(kernels)
    return name if strides == CONV_TIME_STRIDES else f"{name}/{format_conv_time_strides(strides)}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.front_end", description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1,
                   help="torch compute threads (default 1: each of the Russian recipe's two DDP processes has one)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds, alternated; medians (default %(default)s)")
    p.add_argument("--front_ends", "--kernels", type=parse_front_end, nargs="+",
                   default=[(CONV_KERNELS, CONV_TIME_STRIDES), (((21, 11), (11, 11)), CONV_TIME_STRIDES)],
                   metavar="TxF,TxF[/S1,S2]",
                   help="front ends to time, kernels and optionally time strides; the first is the reference "
                        "(default: the seed's 41x11,21x11, then 21x11,11x11)")
    p.add_argument("--utterances", type=int, default=20, help="utterances per batch (default %(default)s)")
    p.add_argument("--frames", type=int, default=250, help="10 ms frames per utterance (default %(default)s)")
    p.add_argument("--feature_size", type=int, default=80)
    p.add_argument("--conv_channels", type=int, default=8)
    p.add_argument("--hidden_size", type=int, default=192)
    p.add_argument("--layer_size", type=int, default=3)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = thread_plan(args)
    apply_threads(plan)
    print_header("Front-end kernels: a training pass of the encoder and of its convolutions", plan)
    torch.manual_seed(0)
    feats = torch.randn(args.utterances, args.frames, args.feature_size)
    lengths = torch.full((args.utterances,), args.frames)
    targets = torch.randint(1, 44, (args.utterances, 8))
    target_lengths = torch.full((args.utterances,), 8)
    models = {}
    for kernels, strides in args.front_ends:
        config = ModelConfig(vocab_size=44, sos_id=42, eos_id=43, feature_size=args.feature_size,
                             hidden_size=args.hidden_size, layer_size=args.layer_size, bidirectional=True,
                             decoder=False, ctc=True, classes=2, conv_channels=args.conv_channels,
                             conv_kernels=kernels, conv_time_strides=strides)
        model = build_model(config).train()
        if args.precision == "bf16":
            model.encoder.choose_precision("cpu")
        models[front_end_name((kernels, strides))] = model

    def whole(model) -> None:
        with autocast("cpu", args.precision):
            enc = model.encode(feats, lengths)
            logits = model.ctc(enc.outputs).float().log_softmax(-1)
        F.ctc_loss(logits.transpose(0, 1), targets, enc.lengths, target_lengths).backward()

    def convolutions(model) -> None:
        with full_precision("cpu") if model.encoder.conv_precision == "fp32" else autocast("cpu", args.precision):
            out = model.encoder.conv(feats.unsqueeze(1))
        out.float().sum().backward()

    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.repeats + 1):  # round 0 warms up
        for name, model in models.items():
            for part, run in (("encoder", whole), ("convolutions", convolutions)):
                start, start_cpu = time.perf_counter(), time.process_time()
                run(model)
                if round_:
                    wall.setdefault((name, part), []).append(time.perf_counter() - start)
                    cpu.setdefault((name, part), []).append(time.process_time() - start_cpu)
    reference = front_end_name(args.front_ends[0])
    rows = []
    for name, model in models.items():
        row = [name, model.encoder.conv_precision or args.precision]
        for part in ("encoder", "convolutions"):
            w, c = median(wall[(name, part)]), median(cpu[(name, part)])
            row += [w, c, ratio(w, median(wall[(reference, part)])), ratio(c, median(cpu[(reference, part)]))]
        rows.append(row)
    print(f"{args.utterances} utterances x {args.frames} frames, {args.precision}, medians of {args.repeats}")
    print_table(["front end", "convolutions in", "pass s", "pass CPU s", "pass wall ratio", "pass CPU ratio",
                 "convolutions s", "convolutions CPU s", "conv wall ratio", "conv CPU ratio"], rows)
    return 0


if __name__ == "__main__":
    run_main(main)
