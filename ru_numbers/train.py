"""Train the spoken-numbers recogniser: ``python -m ru_numbers.train --train DIR/train.csv``.

The same feature, loader, model, objective, training loop and checkpoints as the Korean entry (``main.py``):
log-mel features, a bidirectional GRU encoder, CTC over number words (or digits) and a gender head, trained by
``speech_kit.train.fit`` with length-bucketed batches. It is an NSML entry too: under ``nsml run -d DATASET -e
ru_numbers/train.py`` it reads ``DATASET/train.csv``, reports every epoch and saves ``best`` in the session;
outside it, checkpoints go to ``./checkpoints/NAME`` (``nsml.save``'s local fallback); ``--export DIR`` also
writes each new best model to ``DIR`` without optimizer state (the shipped ``ru_numbers/states/words``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

import nsml
from entry import SPEECH, Binding, EpochReporter, Metric, Snapshots
from entry.finetune import FineTuneError, adopt_architecture, given_options
from models import CheckpointError, build_model, check_compatible, load_checkpoint
from models.config import CONV_KERNELS, CONV_TIME_STRIDES, parse_conv_kernels, parse_conv_time_strides
from ru_numbers.data import read_numbers
from ru_numbers.gender import FIT_UTTERANCES, PitchGender, fit_manifest, write_rule
from ru_numbers.manifest import ManifestError
from ru_numbers.recognizer import TASK_FILE, Recognizer, model_config, save, to_digits
from ru_numbers.units import KINDS, table
from speech_kit.audio import AudioError
from speech_kit.augment import FrequencyWarp, SpecAugment, SpecAugmentConfig, chain, warp_width
from speech_kit.batching import FrameBudgetBatches
from speech_kit.cli import fail
from speech_kit.dataset import split_dataset
from speech_kit.distributed import cleanup, setup_distributed
from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.layout import DatasetError
from speech_kit.features import NORMALIZATIONS, FeatureConfig, Featurizer, feature_frames
from speech_kit.objectives import SpeechObjective
from speech_kit.precision import CHOICES, feature_dtype, resolve_precision
from speech_kit.steady_memory import cap_kernel_caches
from speech_kit.train import DECAYS, TrainConfig, TrainState, fit

PROG = "python -m ru_numbers.train"
ARCHITECTURE = ("hidden_size", "layer_size", "conv_channels", "conv_kernels", "conv_time_strides", "n_mels",
                "feature_norm")  # the flags --init takes from its checkpoint
logger = logging.getLogger("ru_numbers.train")
GENDER_METRICS = (*SPEECH, Metric("gender_error", "class_error", "gender err"))
# --batch_frames makes the training batches; what is left of a batch size are these two counts of utterances:
SHARD_GROUP = 32  # split_dataset deals the training utterances to processes and loader threads in groups of this many
VALID_BATCH = 32  # utterances per validation batch (TrainConfig.batch_size, read only by fit's evaluation)


class PitchRule:
    """The run's pitch rule of the gender decision (``ru_numbers.gender``), kept in the checkpoint's ``task.json``."""

    def __init__(self, rule: PitchGender | None = None):
        self.rule = rule

    def save(self, directory: str) -> None:
        if self.rule is not None:
            write_rule(Path(directory) / TASK_FILE, self.rule)

    def load(self, directory: str) -> None:
        task_file = Path(directory) / TASK_FILE
        if task_file.is_file():
            self.rule = PitchGender.from_dict(json.loads(task_file.read_text(encoding="utf-8")).get("gender"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train", nargs="+", metavar="CSV",
                   help="training manifest(s), read in order as one set (default: DATASET/train.csv under nsml)")
    p.add_argument("--units", choices=KINDS, default="words", help="output units: number words or digits")
    p.add_argument("--hidden_size", type=int, default=192, help="GRU width per direction")
    p.add_argument("--layer_size", type=int, default=3, help="GRU layers")
    p.add_argument("--n_mels", type=int, default=80, help="log-mel bands")
    p.add_argument("--feature_norm", choices=NORMALIZATIONS, default="utterance",
                   help="utterance: keeps the average spectral shape, which carries the speaker's gender (per-band "
                        "normalisation removes it: a linear probe on its mean features tells gender at chance)")
    p.add_argument("--feature_cache", default="",
                   help="folder that keeps each utterance's features once computed (speech_kit.feature_cache), "
                        "so later epochs read them instead of computing them again; bfloat16 under --precision bf16")
    p.add_argument("--conv_channels", type=int, default=8,
                   help="channels of the two front-end convolutions (the Korean seed's 32 cost 4x the GRUs here)")
    p.add_argument("--conv_kernels", type=parse_conv_kernels, default=CONV_KERNELS, metavar="TxF,TxF",
                   help="(time x frequency) kernels of the two front-end convolutions, odd sizes in 10 ms and 20 ms "
                        "frames and mel bands (default: the seed's 41x11,21x11)")
    p.add_argument("--conv_time_strides", type=parse_conv_time_strides, default=CONV_TIME_STRIDES, metavar="S1,S2",
                   help="time strides of the two front-end convolutions; their product is the GRUs' frame step in "
                        "10 ms (default: the seed's 2,2; 2,3: a frame per 60 ms, a third fewer GRU steps)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--gender_weight", type=float, default=0.5, help="weight of the gender loss")
    p.add_argument("--gender_by", choices=("pitch", "head"), default="pitch",
                   help="gender decision: median pitch with a threshold fitted on the training data, or kept "
                        "from the --init checkpoint (the head where no pitch is found), or the gender head alone")
    p.add_argument("--gender_fit", metavar="CSV",
                   help="manifest the pitch threshold is fitted on (default: the first training manifest); give one "
                        "whose pitch follows the speaker's gender, not shifted or pitch-free voices")
    p.add_argument("--batch_frames", type=int, default=20000, help="padded frames per batch (10 ms each)")
    p.add_argument("--workers", type=int, default=2, help="loader threads")
    p.add_argument("--max_epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate")
    p.add_argument("--warmup_steps", type=int, default=100)
    p.add_argument("--lr_decay", choices=DECAYS, default="cosine")
    p.add_argument("--clip_norm", type=float, default=5.0)
    p.add_argument("--spec_augment", action="store_true", help="frequency and time masks on training features")
    p.add_argument("--vtlp", type=warp_width, default=0.0, metavar="WIDTH",
                   help="vocal tract length perturbation: each training utterance's frequencies scaled by a factor "
                        "drawn from [1 - WIDTH, 1 + WIDTH], every epoch afresh (0: off; 0.1 moves formants about as "
                        "far as a man's are from a woman's, halfway)")
    p.add_argument("--time_mask_width", type=int, default=SpecAugmentConfig.time_width, metavar="FRAMES",
                   help="widest SpecAugment time mask, in 10 ms frames (default %(default)s; a number word said "
                        "at 300 words a minute lasts about 20, and a mask that hides a whole word leaves a target "
                        "no audio supports)")
    p.add_argument("--precision", choices=CHOICES, default="auto",
                   help="auto: bf16 where the CPU or GPU computes bfloat16 natively (AVX-512 BF16, AMX), else fp32")
    p.add_argument("--steady_memory", action="store_true",
                   help="keep peak memory near the first epoch's: oneDNN's kernel caches capped, freed memory "
                        "returned after every step (speech_kit.steady_memory)")
    p.add_argument("--snapshot_minutes", type=float, default=0.0,
                   help="also save a checkpoint named by the run's elapsed seconds (elapsed_00300) every this many "
                        "minutes and at every epoch end, for accuracy-against-time curves (0: off)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save_name", default="model", help="checkpoint saved every epoch ('best' on eval loss)")
    p.add_argument("--export", help="also write each new best checkpoint here, without optimizer state "
                                    "(e.g. ru_numbers/states/words)")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="start from this checkpoint's weights (e.g. ru_numbers/states/words: fine-tuning); its "
                        "architecture fills in the flags left out (a flag that contradicts it is an error); the "
                        "optimizer and the schedule start fresh, and its weights, validated first, stay 'best' "
                        "unless an epoch beats them")
    p.add_argument("--mode", choices=("train", "test"), default="train")
    p.add_argument("--pause", type=int, default=0, help="1: hand control to nsml.paused (submit/fork)")
    args = p.parse_args(argv)
    args.given = given_options(p, argv)  # --init: which architecture flags the command line itself sets
    return args


def augmentation(args: argparse.Namespace, features: FeatureConfig, rank: int) -> Callable | None:
    """The training features' frequency warp (``--vtlp``), then their masks (``--spec_augment``), seeded per
    process so that two DDP ranks differ."""
    warp = FrequencyWarp(features, args.vtlp, seed=args.seed + rank) if args.vtlp else None
    masks = (SpecAugment(replace(SpecAugmentConfig(), time_width=args.time_mask_width), seed=args.seed + rank)
             if args.spec_augment else None)
    return chain(warp, masks)


def main(argv: list[str] | None = None) -> int:
    started = time.time()  # the zero of --snapshot_minutes' clock
    args = parse_args(argv)
    if args.snapshot_minutes < 0:
        return fail(PROG, f"--snapshot_minutes must be positive (or 0: off), got {args.snapshot_minutes}")
    if args.time_mask_width < 0:
        return fail(PROG, f"--time_mask_width must be 0 (no time masks) or more frames, got {args.time_mask_width}")
    if args.time_mask_width != SpecAugmentConfig.time_width and not args.spec_augment:
        return fail(PROG, f"--time_mask_width {args.time_mask_width} shapes SpecAugment's masks, which are off: "
                          f"add --spec_augment")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = setup_distributed(torch.cuda.is_available())
    args.precision = resolve_precision(args.precision, ctx.device)  # auto: bf16 where native
    if args.steady_memory:  # before the first convolution: the caches read their capacity then
        logger.info("steady memory: kernel caches %s", cap_kernel_caches())
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.init:  # fine-tuning: the checkpoint's architecture fills in the flags left out
        try:
            taken = adopt_architecture(args, args.given, load_checkpoint(args.init), args.init, ARCHITECTURE)
        except (CheckpointError, FineTuneError) as err:
            return fail(PROG, err)
        if taken and ctx.is_main:
            logger.info("fine-tuning from %s: its architecture (%s)", args.init, " ".join(taken))
    units = table(args.units)
    vocab = units.vocab()
    features = FeatureConfig("logmel", args.n_mels, args.feature_norm)
    featurizer = Featurizer(features)
    featurize = (CachedFeaturizer(featurizer, args.feature_cache, feature_dtype(args.precision))
                 if args.feature_cache else featurizer)
    config = model_config(vocab, features, args.hidden_size, args.layer_size, args.conv_channels,
                          args.conv_kernels, args.conv_time_strides)
    model = build_model(config, dropout=args.dropout).to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    state = TrainState()
    if ctx.is_main:
        logger.info("device %s, %d threads, precision %s; %d parameters; units %s (%d labels)", ctx.device,
                    torch.get_num_threads(), args.precision, sum(p.numel() for p in model.parameters()), units.kind,
                    len(vocab))

    pitch = PitchRule()  # the gender rule: fitted before training, or read with a checkpoint
    binding = Binding(model, optimizer, state,
                      writer=partial(save, model=model, config=config, vocab=vocab, features=features, units=units),
                      check=partial(check_compatible, config=config, vocab=vocab, features=features), lr=args.lr,
                      sidecars=[pitch])

    def infer(path: str) -> str:
        """``digits gender`` of one file, what the ``numbers`` scorer of the board compares."""
        result = Recognizer(model, vocab, units, features, pitch.rule)([path])[0]
        return f"{result.transcription} {result.gender}"

    binding.bind(infer)
    if args.pause == 1:
        nsml.paused(scope=locals())
    if args.mode != "train":
        return 0
    manifests = args.train or ([str(Path(nsml.DATASET_PATH) / "train.csv")] if nsml.HAS_DATASET else None)
    if manifests is None:
        return fail(PROG, "no training manifest: give --train CSV (or run under nsml run -d DATASET)")
    try:
        train_list = read_numbers(manifests, units, vocab)
        if args.init:
            binding.init(args.init)
            if args.gender_by == "head":
                pitch.rule = None
    except (ManifestError, ValueError, CheckpointError) as err:
        return fail(PROG, err)
    train_config = TrainConfig(batch_size=VALID_BATCH, workers=args.workers, max_epochs=args.max_epochs, lr=args.lr,
                               teacher_forcing=0.0, seed=args.seed, precision=args.precision,
                               warmup_steps=args.warmup_steps, decay=args.lr_decay, clip_norm=args.clip_norm,
                               steady_memory=args.steady_memory)
    data = split_dataset(train_list, vocab, SHARD_GROUP, args.workers, valid_ratio=0.03, rank=ctx.rank,
                         world_size=ctx.world_size, seed=args.seed, featurize=featurize,
                         augment=augmentation(args, features, ctx.rank))
    try:
        sampler = FrameBudgetBatches(args.batch_frames, feature_frames(data.train.wav_paths))
    except DatasetError as err:  # a --batch_frames below the longest utterance
        return fail(PROG, err)
    objective = SpeechObjective(vocab, ctc_weight=1.0, class_weight=args.gender_weight,
                                to_text=lambda ids: to_digits(units, vocab.decode(ids)))
    if ctx.is_main:
        logger.info("%s: %d utterances (%d validate)", " + ".join(manifests), len(train_list.wav_paths),
                    data.valid.count())
    if args.gender_by == "pitch" and pitch.rule is not None:  # fine-tuning: the --init checkpoint's threshold stays
        if ctx.is_main:
            logger.info("gender by pitch: threshold %.1f Hz, kept from %s", pitch.rule.threshold_hz, args.init)
    elif args.gender_by == "pitch":
        try:
            pitch.rule, accuracy = fit_manifest(args.gender_fit or manifests[0], progress=False)
        except (ManifestError, AudioError, ValueError) as err:
            return fail(PROG, err)
        if ctx.is_main:
            logger.info("gender by pitch: threshold %.1f Hz (%.2f %% of up to %d utterances of %s), the head "
                        "between %g and %g Hz", pitch.rule.threshold_hz, 100 * accuracy, FIT_UTTERANCES,
                        args.gender_fit or manifests[0], *pitch.rule.undecided_hz)

    reporter = EpochReporter(state, args.save_name, logger, GENDER_METRICS, log_batches=False,
                             max_epochs=args.max_epochs,
                             export=partial(binding.export, args.export) if args.export else None,
                             snapshots=Snapshots(args.snapshot_minutes, started) if args.snapshot_minutes else None)

    try:
        fit(model, objective, data, optimizer, train_config, state, ctx, on_epoch=reporter.end_epoch,
            on_report=reporter.report_batch, sampler=sampler, show_progress=sys.stderr.isatty(),
            on_start=reporter.start_from if args.init else None)  # fine-tuning: its start is the best to beat
    finally:
        cleanup(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
