"""The NSML entry of the 2019 speech hackathon baseline: flags -> data -> model -> bind_model -> epochs.

``python main.py`` trains on ``nsml.DATASET_PATH`` (set by ``nsml run``, or by ``NSML_DATASET_PATH``), else on
``./sample_dataset``; ``nsml submit`` re-runs it with ``--mode test --pause 1`` so ``nsml.paused`` loads a
checkpoint and feeds the test set through ``infer``.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from functools import partial
from pathlib import Path

import torch
from torch import nn

import nsml
from entry import Binding, DecodingSlot, EpochReporter, LanguageModelSlot, Snapshots
from entry.finetune import FineTuneError, adopt_architecture, check_coverage, given_options, init_path
from models import DecodingOptions, ModelConfig, build_model, check_compatible, save_checkpoint
from models.checkpoint import CheckpointError, load_checkpoint
from models.config import (CONV_KERNELS, CONV_TIME_STRIDES, format_conv_kernels, format_conv_time_strides,
                           parse_conv_kernels, parse_conv_time_strides)
from models.attention import KINDS as ATTENTION_KINDS
from models.lm import NgramLM
from models.transcribe import transcribe
from nsml.errors import NoSpace
from nsml.records import write_run_file
from speech_kit.audio import AudioError
from speech_kit.augment import FrequencyWarp, SpecAugment, chain, warp_width
from speech_kit.batching import FrameBudgetBatches
from speech_kit.dataset import read_train_list, split_dataset
from speech_kit.distributed import DistributedContext, cleanup, setup_distributed
from speech_kit.feature_cache import CachedFeaturizer
from speech_kit.features import FEATURE_KINDS, NORMALIZATIONS, FeatureConfig, Featurizer, feature_frames
from speech_kit.findings import exclusion_table
from speech_kit.finite import NonFiniteLoss, NonFiniteModel
from speech_kit.layout import DatasetError
from speech_kit.memory import default_max_duration, device_memory
from speech_kit.objectives import SpeechObjective
from speech_kit.precision import CHOICES, feature_dtype, resolve_precision
from speech_kit.screen import EXCLUSIONS_FILE, screen_training_data
from speech_kit.steady_memory import cap_kernel_caches
from speech_kit.threads import apply_threads, recommended_threads
from speech_kit.train import BAD_SAMPLE_POLICIES, DECAYS, TrainConfig, TrainState, fit
from speech_kit.units import UNIT_KINDS, TextUnits, retarget
from speech_kit.vocab import LabelTableError, Vocab

HERE = Path(__file__).resolve().parent
UNTRAINED_READ = ('read the README\'s "Quick start" section: start from the shipped model (-a "--init '
                  'pretrained/korean"), or train from scratch for more epochs on more data (its "What '
                  '`./run.sh` does")')
logger = logging.getLogger("main")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Korean speech recognition hackathon baseline: an attention Seq2seq over spectrograms.",
        epilog="Data: nsml.DATASET_PATH (set by 'nsml run -d', or NSML_DATASET_PATH) else ./sample_dataset, in the "
               "hackathon layout. Checkpoints: in the session under 'nsml run', else ./checkpoints/NAME "
               "(or $NSML_CHECKPOINT_DIR/NAME). Under torchrun each process trains its own shard. "
               "Architecture flags (sizes, --bidirectional, --use_attention, --labels) must match a checkpoint "
               "to load it; the others may change on fork and submit.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--hidden_size", type=int, default=512, help="hidden size of the encoder and decoder GRUs")
    parser.add_argument("--layer_size", type=int, default=3, help="number of GRU layers in encoder and decoder")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout rate in the encoder and decoder")
    parser.add_argument("--bidirectional", action="store_true", help="use a bidirectional encoder GRU")
    parser.add_argument("--use_attention", action="store_true", help="use attention between encoder and decoder")
    parser.add_argument("--attention", choices=ATTENTION_KINDS, default="dot",
                        help="with --use_attention: the seed's dot-product attention, or location-aware attention "
                             "(it also sees where it looked at the previous step)")
    parser.add_argument("--batch_size", type=int, default=32, help="utterances per batch (per process under DDP)")
    parser.add_argument("--batch_frames", type=int, default=0,
                        help="if set: length-bucketed batches of at most this many padded feature frames (10 ms "
                             "each), replacing --batch_size for training")
    parser.add_argument("--workers", type=int, default=4, help="loader threads")
    parser.add_argument("--max_epochs", type=int, default=10, help="number of epochs to train")
    parser.add_argument("--lr", type=float, default=1e-04, help="Adam learning rate (applies on fork too)")
    parser.add_argument("--teacher_forcing", type=float, default=0.5,
                        help="probability of feeding the reference instead of the prediction, drawn per batch")
    parser.add_argument("--max_len", type=int, default=80,
                        help="longest transcript decoded at inference, in labels, for audio under that many encoder "
                             "frames (40 ms each); longer audio may have one label per frame")
    parser.add_argument("--beam_size", type=int, default=1,
                        help="beam width at inference (1: greedy, the seed's); with no decoding flag a loaded "
                             "checkpoint's recommended decoding (its decoding.json) is used")
    parser.add_argument("--greedy", action="store_true",
                        help="greedy decoding at inference even when the checkpoint recommends a beam search")
    parser.add_argument("--length_penalty", type=float, default=0.0,
                        help="beam scores are divided by length**length_penalty")
    parser.add_argument("--precision", choices=CHOICES, default="fp32",
                        help="bf16: autocast matrix products to bfloat16 (training and decoding); auto: bf16 where the "
                        "CPU or GPU computes bfloat16 natively (AVX-512 BF16, AMX), else fp32")
    improve = parser.add_argument_group("beyond the seed (defaults keep the 2019 baseline)")
    improve.add_argument("--feature", choices=FEATURE_KINDS, default="stft",
                         help="stft: the seed's raw magnitude; logmel: log mel filterbank normalised per utterance")
    improve.add_argument("--n_mels", type=int, default=80, help="mel bands of --feature logmel")
    improve.add_argument("--feature_norm", choices=NORMALIZATIONS, default="band",
                         help="log-mel normalisation per utterance: each band, or one for all bands")
    improve.add_argument("--feature_cache", default="",
                         help="folder that keeps each utterance's features once computed (keyed by file and "
                              "feature settings), so later epochs and runs read them instead of recomputing; "
                              "in bfloat16 under --precision bf16 (the same training, half the bytes)")
    improve.add_argument("--conv_channels", type=int, default=32,
                         help="channels of the two front-end convolutions (most of the seed's compute)")
    improve.add_argument("--conv_kernels", type=parse_conv_kernels, default=format_conv_kernels(CONV_KERNELS),
                         metavar="TxF,TxF",
                         help="(time x frequency) kernels of the two front-end convolutions, odd sizes (the seed's)")
    improve.add_argument("--conv_time_strides", type=parse_conv_time_strides,
                         default=format_conv_time_strides(CONV_TIME_STRIDES), metavar="S1,S2",
                         help="time strides of the two front-end convolutions; their product is the GRUs' frame "
                              "step in 10 ms (the seed's: one frame per 40 ms)")
    improve.add_argument("--units", choices=UNIT_KINDS, default="char",
                         help="output units: the label table's characters, or jamo (Hangul decomposed)")
    improve.add_argument("--ctc_weight", type=float, default=0.0,
                         help="weight of a CTC loss over the encoder (0: none; 1: CTC only, no decoder)")
    improve.add_argument("--label_smoothing", type=float, default=0.0, help="label smoothing of the decoder loss")
    improve.add_argument("--spec_augment", action="store_true", help="mask random frequency bands and time spans")
    improve.add_argument("--vtlp", type=warp_width, default=0.0, metavar="WIDTH",
                         help="vocal tract length perturbation: each training utterance's frequencies scaled by a "
                              "factor drawn from [1 - WIDTH, 1 + WIDTH], every epoch afresh (0: off)")
    improve.add_argument("--warmup_steps", type=int, default=0, help="linear learning-rate warm-up")
    improve.add_argument("--lr_decay", choices=DECAYS, default="none", help="cosine: decay to 0 at the last step")
    improve.add_argument("--clip_norm", type=float, default=0.0, help="clip the gradient norm (0: off)")
    improve.add_argument("--max_minutes", type=float, default=0.0,
                         help="start no new epoch after this many minutes of training (0: no limit)")
    improve.add_argument("--snapshot_minutes", type=float, default=0.0,
                         help="also save a checkpoint named by the run's elapsed seconds (elapsed_00300) every this "
                              "many minutes and at every epoch end, for accuracy-against-time curves "
                              "(python -m benchmarks.time_to_accuracy; 0: off)")
    improve.add_argument("--steady_memory", action="store_true",
                         help="keep peak memory near the first epoch's with many batch shapes (--batch_frames): "
                              "oneDNN's kernel caches capped, freed memory returned after every step")
    improve.add_argument("--lm_order", type=int, default=0,
                         help="train an n-gram LM of this order on the training transcripts; saved with checkpoints")
    improve.add_argument("--lm_weight", type=float, default=0.0, help="LM weight in CTC beam search")
    improve.add_argument("--length_bonus", type=float, default=0.0, help="per-unit bonus in CTC beam search")
    parser.add_argument("--no_cuda", action="store_true", help="do not use CUDA even when it is available")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--save_name", type=str, default="model", help="checkpoint saved after every epoch")
    parser.add_argument("--mode", choices=("train", "test"), default="train",
                        help="'train'; 'test' loads and infers only")
    parser.add_argument("--pause", type=int, default=0, help="1: hand control to nsml.paused (submit/fork)")
    parser.add_argument("--labels", type=str, default=str(HERE / "hackathon.labels"),
                        help="label table (id<TAB>char<TAB>freq); bring the dataset's own for the real data")
    parser.add_argument("--on_bad_sample", choices=BAD_SAMPLE_POLICIES, default="fail",
                        help="a bad training file (what 'nsml dataset check' reports as an error) or a batch with a "
                             "NaN/Inf loss: 'fail' stops with the report; 'skip' trains on the rest and records what "
                             f"it left out ({EXCLUSIONS_FILE} in the session folder, skipped_* metrics)")
    parser.add_argument("--max_duration", type=float, default=0.0,
                        help="longest training utterance in seconds, longer ones are bad samples (0: from the "
                             "device's memory and the batch size, so that one batch fits in half of it)")
    parser.add_argument("--init", metavar="CHECKPOINT", type=partial(init_path, roots=(nsml_checkout(),)),
                        help="fine-tune: start from this checkpoint's weights (e.g. pretrained/korean) with its "
                             "architecture, feature and units (flags left out are taken from it, flags that "
                             "contradict it are an error); the optimizer and the schedule start fresh, and its "
                             "weights, validated first, stay 'best' unless an epoch beats them")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.given = given_options(parser, argv)  # --init: which architecture flags the command line itself sets
    for name in ("hidden_size", "layer_size", "batch_size", "workers", "max_epochs", "max_len", "beam_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_duration < 0:
        parser.error(f"--max_duration must be positive (or 0: from the memory), got {args.max_duration}")
    if args.batch_frames < 0:
        parser.error(f"--batch_frames must be positive (or 0: off), got {args.batch_frames}")
    if args.snapshot_minutes < 0:
        parser.error(f"--snapshot_minutes must be positive (or 0: off), got {args.snapshot_minutes}")
    if not 0.0 <= args.teacher_forcing <= 1.0:
        parser.error(f"--teacher_forcing must be within [0, 1], got {args.teacher_forcing}")
    if not 0.0 <= args.dropout < 1.0:
        parser.error(f"--dropout must be within [0, 1), got {args.dropout}")
    if args.length_penalty < 0:
        parser.error(f"--length_penalty must be non-negative, got {args.length_penalty}")
    if not 0.0 <= args.ctc_weight <= 1.0:
        parser.error(f"--ctc_weight must be within [0, 1], got {args.ctc_weight}")
    if not 0.0 <= args.label_smoothing < 1.0:
        parser.error(f"--label_smoothing must be within [0, 1), got {args.label_smoothing}")
    return args


def bind_model(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, config: ModelConfig,
               vocab: Vocab, featurizer: Featurizer | None = None, decoding: DecodingOptions = DecodingOptions(),
               state: TrainState | None = None, precision: str = "fp32", lr: float | None = None,
               units: TextUnits | None = None, lm: LanguageModelSlot | None = None, greedy: bool = False) -> Binding:
    """Bind save/load/infer for NSML (``entry.Binding``).

    ``state`` (epoch, step, best loss) travels with the checkpoint, and so does the n-gram LM in ``lm``. On load
    the optimizer's moments are restored but its learning rate is this run's ``lr``, so a flag given on fork
    applies. ``infer`` takes one wav path (the 2019 contract, returns its text) or a list of paths (returns a
    list, decoded in batches). Returns the binding (its ``init`` starts a fine-tuning run).

    When ``decoding`` searches nothing (greedy, no LM) and ``greedy`` is False, a loaded checkpoint's recommended
    decoding (``decoding.json``, e.g. ``pretrained/korean``'s beam with its LM) replaces it; a beam search of the
    run's own is recorded beside every checkpoint it saves.
    """
    featurizer = featurizer or Featurizer()
    units = units or TextUnits()
    lm = lm or LanguageModelSlot()
    searched = decoding != DecodingOptions(max_len=decoding.max_len, ctc_weight=decoding.ctc_weight)
    chosen = DecodingSlot(decoding, chosen=greedy or searched)
    spec = {"config": config, "vocab": vocab, "features": featurizer.config, "units": units.kind}
    binding = Binding(model, optimizer, state if state is not None else TrainState(),
                      writer=partial(save_checkpoint, model=model, **spec), check=partial(check_compatible, **spec),
                      lr=lr, sidecars=[lm, chosen])

    def infer(wav_path: str | list[str]) -> str | list[str]:
        paths = [wav_path] if isinstance(wav_path, str) else list(wav_path)
        texts = transcribe(model, vocab, paths, chosen.options, featurizer, precision=precision, units=units,
                           lm=lm.lm)
        return texts[0] if isinstance(wav_path, str) else texts

    binding.bind(infer)
    return binding


def nsml_checkout() -> Path:
    """The checkout ``nsml`` runs from (a session's code snapshot leaves out ``pretrained/``; this one has it)."""
    return Path(nsml.__file__).resolve().parent.parent


def dataset_root() -> str:
    """``nsml.DATASET_PATH`` when a dataset is attached, else the bundled sample, as in the seed."""
    return nsml.DATASET_PATH if nsml.HAS_DATASET else str(HERE / "sample_dataset")


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(batch_size=args.batch_size, workers=args.workers, max_epochs=args.max_epochs, lr=args.lr,
                       teacher_forcing=args.teacher_forcing, seed=args.seed,
                       precision=args.precision, warmup_steps=args.warmup_steps, decay=args.lr_decay,
                       clip_norm=args.clip_norm, max_minutes=args.max_minutes, on_bad_sample=args.on_bad_sample,
                       steady_memory=args.steady_memory)


def train(args: argparse.Namespace, ctx: DistributedContext, model: nn.Module, optimizer: torch.optim.Optimizer,
          table: Vocab, vocab: Vocab, units: TextUnits, featurizer: Featurizer, state: TrainState,
          lm: LanguageModelSlot, started: float) -> None:
    """Train on the dataset; ``table`` is the dataset's label table, ``vocab`` the model's units; ``started`` is
    when the run began (``time.time()``), the zero of ``--snapshot_minutes``' clock."""
    root = dataset_root()
    config = train_config(args)
    max_seconds = args.max_duration or default_max_duration(
        device_memory(ctx.device), 1 if args.batch_frames else args.batch_size, args.batch_frames)
    checked = screen_training_data(root, table, args.on_bad_sample, max_seconds, show=ctx.is_main)
    if checked.excluded() and ctx.is_main:
        where = write_run_file(EXCLUSIONS_FILE, exclusion_table(checked.excluded()))
        nsml.report(False, step=0, skipped_samples=len(checked.excluded()))
        logger.warning("the %d utterances left out and why: %s", len(checked.excluded()), where)
    train_list = read_train_list(root, table, checked)
    if args.init:
        check_coverage((table.decode(ids) for ids in train_list.targets.values()), units, vocab, args.init)
    train_list.targets = retarget(train_list.targets, table, units, vocab)
    if args.lm_order and (lm.lm is None or args.init):  # fine-tuning: an LM of this data, not the checkpoint's
        lm.lm = NgramLM.train((vocab.decode(ids) for ids in train_list.targets.values()), args.lm_order)
        logger.info("trained a %d-gram LM on %d training transcripts", args.lm_order, len(train_list.targets))
    # seeded per process, so that DDP ranks draw their own warps and masks
    augment = chain(FrequencyWarp(featurizer.config, args.vtlp, seed=args.seed + ctx.rank) if args.vtlp else None,
                    SpecAugment(seed=args.seed + ctx.rank) if args.spec_augment else None)
    featurize = (CachedFeaturizer(featurizer, args.feature_cache, feature_dtype(args.precision))
                 if args.feature_cache else featurizer)
    data = split_dataset(train_list, vocab, args.batch_size, args.workers, rank=ctx.rank,
                         world_size=ctx.world_size, seed=args.seed, featurize=featurize, augment=augment)
    if ctx.is_main:
        batching = (f"batches of at most {args.batch_frames} frames" if args.batch_frames
                    else f"{data.batch_count} batches of {args.batch_size}")
        logger.info("dataset %s: %d utterances, %s per process x %d process(es), %d validate", root,
                    len(train_list.wav_paths), batching, ctx.world_size, data.valid.count())

    reporter = EpochReporter(state, args.save_name, logger, max_epochs=args.max_epochs,
                             snapshots=Snapshots(args.snapshot_minutes, started) if args.snapshot_minutes else None)
    sampler = FrameBudgetBatches(args.batch_frames, feature_frames(data.train.wav_paths)) if args.batch_frames else None
    objective = SpeechObjective(vocab, args.ctc_weight, args.label_smoothing,
                                to_text=lambda ids: units.decode(vocab.decode(ids)))
    fit(model, objective, data, optimizer, config, state, ctx, on_epoch=reporter.end_epoch,
        on_report=reporter.report_batch, sampler=sampler, show_progress=sys.stderr.isatty(),
        on_start=reporter.start_from if args.init else None)  # fine-tuning: the shipped weights are the bar
    notice = reporter.untrained_notice(UNTRAINED_READ) if ctx.is_main else None
    if notice:
        logger.warning(notice)


def describe_device(ctx: DistributedContext, args: argparse.Namespace) -> str:
    where = str(ctx.device)
    if ctx.device.type == "cpu" and not args.no_cuda:
        where += " (no CUDA device available)"
    return (f"device {where}, {torch.get_num_threads()} compute threads, {torch.get_num_interop_threads()} "
            f"inter-op threads, precision {args.precision}, process {ctx.rank + 1}/{ctx.world_size}")


def main(argv: list[str] | None = None) -> int:
    started = time.time()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    apply_threads(recommended_threads())  # one per usable core, shared by torchrun's local processes
    ctx = setup_distributed(use_cuda)
    args.precision = resolve_precision(args.precision, ctx.device)  # auto: bf16 where native
    if ctx.is_main:
        logger.info(describe_device(ctx, args))
    if args.steady_memory:  # before the first convolution: the caches read their capacity then
        caches = cap_kernel_caches()
        if ctx.is_main:
            logger.info("steady memory: kernel caches %s; freed memory returned after every step", caches)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    try:
        table = Vocab.from_file(args.labels)
        start = load_checkpoint(args.init) if args.init else None
        if start is not None:
            taken = adopt_architecture(args, args.given, start, args.init)
            if ctx.is_main:
                logger.info("fine-tuning from %s: its architecture and units (%s)", args.init, " ".join(taken))
        units = TextUnits(args.units)
        vocab = start.vocab if start is not None else units.vocab(table)
        featurizer = Featurizer(FeatureConfig(args.feature, args.n_mels, args.feature_norm))
        config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id,
                             feature_size=featurizer.size, hidden_size=args.hidden_size, layer_size=args.layer_size,
                             bidirectional=args.bidirectional, use_attention=args.use_attention,
                             attention=args.attention,
                             decoder=args.ctc_weight < 1.0, ctc=args.ctc_weight > 0,
                             conv_channels=args.conv_channels, conv_kernels=args.conv_kernels,
                             conv_time_strides=args.conv_time_strides)
        model = build_model(config, dropout=args.dropout).to(ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        state = TrainState()
        decoding = DecodingOptions(max_len=args.max_len, beam_size=args.beam_size,
                                   length_penalty=args.length_penalty, ctc_weight=args.ctc_weight,
                                   lm_weight=args.lm_weight, length_bonus=args.length_bonus)
        lm = LanguageModelSlot()
        binding = bind_model(model, optimizer, config=config, vocab=vocab, featurizer=featurizer,
                             decoding=decoding, state=state, precision=args.precision, lr=args.lr, units=units, lm=lm,
                             greedy=args.greedy)
        if start is not None and args.mode == "train":
            binding.init(args.init)  # before paused: a fork then loads its own checkpoint over these weights
        if args.pause == 1:
            nsml.paused(scope=locals())
        if args.mode != "train":
            return 0
        train(args, ctx, model, optimizer, table, vocab, units, featurizer, state, lm, started)
    except (LabelTableError, DatasetError, AudioError, NonFiniteLoss, NonFiniteModel, CheckpointError,
            FineTuneError) as err:
        print(f"main.py: error: {err}", file=sys.stderr)
        return 2
    except NoSpace as err:  # a checkpoint save on a full disk: the run's own fault-free failure, status 1
        print(f"main.py: error: {err}", file=sys.stderr)
        return 1
    finally:
        cleanup(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
