"""Submit: real-time factor of transcribing wav files, the 2019 baseline's per-file ``infer`` against the
project's ``transcribe`` per file and in batches, greedy and beam, float32 and bfloat16.

    python -m benchmarks.submit [--data DIR] [--files 48] [--batch_size 32] [--beam_size 5] [--checkpoint DIR]

The batched paths are ``models.transcribe`` as submit runs it: batches as even as the processes need, each
encoded in chunks of ``ENCODER_FRAMES`` and decoded whole, shared among one one-thread process per compute thread
(``speech_kit.forked``); the "1 process" rows decode in this process with its threads, the "encoded whole" row as
the project did before chunking (a batch of 16 encoded as one).

RTF is seconds of work per second of audio, features included (both paths start from the wav file). Without
``--checkpoint`` the model has the seed's settings and untrained weights, which never say ``</s>``: every path
decodes ``--max_len`` (80) steps, as the 2019 figure was measured; a trained checkpoint stops earlier. The last
column compares each path's text with the project's per-file float32 greedy text.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.common import (add_common_args, alternate, durations, ensure_dataset, load_train, median, print_header,
                                print_table, ratio, run_main, thread_plan)
from benchmarks.reference import seed_infer
from models import DecodingOptions, ModelConfig, Seq2seq, build_model, load_checkpoint
from models.transcribe import transcribe
from speech_kit.features import Featurizer
from speech_kit.threads import apply_threads
from speech_kit.vocab import Vocab

SEED_ROW = "2019 baseline: per-file greedy, fp32"


def load_model(checkpoint: Path | None, vocab: Vocab) -> tuple[Seq2seq, Vocab, Featurizer]:
    if checkpoint is not None:
        loaded = load_checkpoint(str(checkpoint))
        return loaded.build("cpu").eval(), loaded.vocab, Featurizer(loaded.features)
    torch.manual_seed(1)
    config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, hidden_size=512,
                         layer_size=3, use_attention=True)
    return build_model(config).eval(), vocab, Featurizer()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.submit", description=__doc__.split("\n\n")[0])
    add_common_args(parser)
    parser.add_argument("--files", type=int, default=48, help="wav files transcribed (the first of the train list)")
    parser.add_argument("--batch_size", type=int, default=32, help="most files per batch of the batched paths")
    parser.add_argument("--beam_size", type=int, default=5, help="beam width of the beam paths")
    parser.add_argument("--max_len", type=int, default=80, help="longest transcript")
    parser.add_argument("--checkpoint", type=Path, default=None, help="a trained checkpoint folder (model.pt)")
    args = parser.parse_args(argv)
    plan = thread_plan(args)
    root = ensure_dataset(args.data)
    print_header("submit: wav files -> text", plan)
    apply_threads(plan)
    vocab, train = load_train(root)
    paths = train.wav_paths[: args.files]
    audio = sum(durations(paths))
    model, vocab, featurizer = load_model(args.checkpoint, vocab)
    print(f"data: {root}: first {len(paths)} training files, {audio:.1f} s of audio; model: "
          f"{args.checkpoint or 'seed settings, untrained'} ({sum(p.numel() for p in model.parameters()):,} "
          f"parameters); max_len {args.max_len}")
    greedy = DecodingOptions(max_len=args.max_len)
    beam = DecodingOptions(max_len=args.max_len, beam_size=args.beam_size)
    b = args.batch_size
    cases = {}
    if featurizer.config.kind == "stft" and not model.encoder.rnn.bidirectional and model.decoder is not None:
        cases[SEED_ROW] = lambda: [seed_infer(model, vocab, p, args.max_len) for p in paths]
    else:  # the seed's path reads its STFT feature and feeds a one-way encoder's state to the decoder
        print(f"no 2019 row: {args.checkpoint} is not the seed's kind of model (features {featurizer.config.kind}, "
              f"bidirectional {model.encoder.rnn.bidirectional}); ratios are against the first row")
    whole = {"processes": 1, "encoder_frames": 10**9}  # one process, each batch encoded whole
    one = {"processes": 1}
    for name, options, batch_size, precision, how in [
            ("per-file greedy, fp32", greedy, 1, "fp32", one), ("per-file greedy, bf16", greedy, 1, "bf16", one),
            ("batched greedy (16), bf16, 1 process, batches encoded whole", greedy, 16, "bf16", whole),
            (f"batched greedy ({b}), bf16, 1 process", greedy, b, "bf16", one),
            (f"batched greedy ({b}), fp32", greedy, b, "fp32", {}),
            (f"batched greedy ({b}), bf16", greedy, b, "bf16", {}),
            (f"per-file beam {args.beam_size}, fp32", beam, 1, "fp32", one),
            (f"batched beam {args.beam_size} ({b}), bf16", beam, b, "bf16", {})]:
        cases[f"project: {name}"] = (lambda options=options, batch_size=batch_size, precision=precision, how=how:
                                     transcribe(model, vocab, paths, options, featurizer, batch_size, precision,
                                                **how))
    texts = {name: run() for name, run in cases.items()}  # also the warm-up round
    times = alternate(cases, args.repeats)
    reference = median(times[next(iter(cases))])
    baseline_texts = texts["project: per-file greedy, fp32"]
    rows = []
    for name, values in times.items():
        seconds = median(values)
        same = sum(a == x for a, x in zip(texts[name], baseline_texts))
        rows.append([name, f"{seconds / audio:.4f}", f"{seconds:.2f}", ratio(reference, seconds),
                     f"{same}/{len(paths)}"])
    print_table(["path", "RTF", "seconds", "vs 2019" if SEED_ROW in cases else "vs the first row",
                 "same text as per-file fp32 greedy"], rows)
    return 0


if __name__ == "__main__":
    run_main(main)
