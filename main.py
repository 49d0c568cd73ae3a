"""The NSML entry of the 2019 speech hackathon baseline: flags -> data -> model -> bind_model -> epochs.

``python main.py`` trains on ``nsml.DATASET_PATH`` (set by ``nsml run``, or by ``NSML_DATASET_PATH``), else on
``./sample_dataset``; ``nsml submit`` re-runs it with ``--mode test --pause 1`` so ``nsml.paused`` loads a
checkpoint and feeds the test set through ``infer``.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
from functools import partial
from pathlib import Path

import torch
from torch import nn

import nsml
from speech_kit.audio import AudioError
from speech_kit.layout import DatasetError
from speech_kit.distributed import DistributedContext, cleanup, setup_distributed, wrap_model
from label_loader import LabelTableError, Vocab
from loader import N_FREQ, get_spectrogram_feature, read_train_list, split_dataset
from models import ModelConfig, build_model, check_compatible, greedy_decode, load_checkpoint, save_checkpoint
from speech_kit.train import evaluate, train_epoch

HERE = Path(__file__).resolve().parent
logger = logging.getLogger("main")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Korean speech recognition hackathon baseline: an attention Seq2seq over spectrograms.",
        epilog="Data: nsml.DATASET_PATH (set by 'nsml run -d', or NSML_DATASET_PATH) else ./sample_dataset, in the "
               "hackathon layout. Checkpoints: in the session under 'nsml run', else ./checkpoints/NAME "
               "(or $NSML_CHECKPOINT_DIR/NAME). Under torchrun each process trains its own shard.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--hidden_size", type=int, default=512, help="hidden size of the encoder and decoder GRUs")
    parser.add_argument("--layer_size", type=int, default=3, help="number of GRU layers in encoder and decoder")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout rate in the encoder and decoder")
    parser.add_argument("--bidirectional", action="store_true", help="use a bidirectional encoder GRU")
    parser.add_argument("--use_attention", action="store_true", help="use attention between encoder and decoder")
    parser.add_argument("--batch_size", type=int, default=32, help="utterances per batch (per process under DDP)")
    parser.add_argument("--workers", type=int, default=4, help="loader threads")
    parser.add_argument("--max_epochs", type=int, default=10, help="number of epochs to train")
    parser.add_argument("--lr", type=float, default=1e-04, help="Adam learning rate")
    parser.add_argument("--teacher_forcing", type=float, default=0.5,
                        help="probability of feeding the reference instead of the prediction, drawn per batch")
    parser.add_argument("--max_len", type=int, default=80, help="longest transcript decoded at inference")
    parser.add_argument("--no_cuda", action="store_true", help="do not use CUDA even when it is available")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--save_name", type=str, default="model", help="checkpoint saved after every epoch")
    parser.add_argument("--mode", type=str, default="train", help="'train'; 'test' loads and infers only")
    parser.add_argument("--pause", type=int, default=0, help="1: hand control to nsml.paused (submit/fork)")
    parser.add_argument("--labels", type=str, default=str(HERE / "hackathon.labels"),
                        help="label table (id<TAB>char<TAB>freq); bring the dataset's own for the real data")
    args = parser.parse_args(argv)
    for name in ("hidden_size", "layer_size", "batch_size", "workers", "max_epochs", "max_len"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not 0.0 <= args.teacher_forcing <= 1.0:
        parser.error(f"--teacher_forcing must be within [0, 1], got {args.teacher_forcing}")
    return args


def bind_model(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, config: ModelConfig,
               vocab: Vocab, device: torch.device, train_state: dict | None = None) -> None:
    """Bind save/load/infer for NSML; ``train_state`` (epoch, best loss, step) travels with the checkpoint."""
    state = train_state if train_state is not None else {}

    def save(path: str, **kwargs) -> None:
        save_checkpoint(path, model, config, vocab, optimizer, state)

    def load(path: str, **kwargs) -> None:
        checkpoint = load_checkpoint(path, map_location=device)
        check_compatible(checkpoint, config, vocab, path)
        model.load_state_dict(checkpoint.model_state)
        if optimizer is not None and checkpoint.optimizer_state:
            optimizer.load_state_dict(checkpoint.optimizer_state)
        state.update(checkpoint.train_state)
        logger.info("loaded %s (epoch %s)", path, state.get("epoch"))

    def infer(wav_path: str) -> str:
        feat = get_spectrogram_feature(wav_path).unsqueeze(0).to(device)
        return greedy_decode(model, feat, None, vocab)[0]

    nsml.bind(save=save, load=load, infer=infer)


def dataset_root() -> str:
    """``nsml.DATASET_PATH`` when a dataset is attached, else the bundled sample, as in the seed."""
    return nsml.DATASET_PATH if nsml.HAS_DATASET else str(HERE / "sample_dataset")


def _report_batch(is_main: bool, epoch: int, step0: int, batch_count: int, index: int, loss: float,
                  cer: float) -> None:
    """Every few batches: the seed's per-step metrics, from rank 0 only."""
    if is_main:
        nsml.report(False, step=step0 + index, train_step__loss=loss, train_step__cer=cer)
        logger.info("epoch %d batch %d/%d: loss %.4f cer %.4f", epoch, index, batch_count, loss, cer)


def train(args: argparse.Namespace, ctx: DistributedContext, model: nn.Module, optimizer: torch.optim.Optimizer,
          vocab: Vocab, state: dict) -> None:
    root = dataset_root()
    train_list = read_train_list(root, vocab)
    batch_count, train_sets, valid_set = split_dataset(train_list, vocab, args.batch_size, args.workers,
                                                       rank=ctx.rank, world_size=ctx.world_size, seed=args.seed)
    if ctx.is_main:
        logger.info("dataset %s: %d utterances, %d batches of %d per process x %d process(es), %d validate",
                    root, len(train_list.wav_paths), batch_count, args.batch_size, ctx.world_size, valid_set.count())
    trained = wrap_model(model, ctx)
    criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=vocab.pad_id).to(ctx.device)
    shuffle_rng = random.Random(args.seed + ctx.rank)
    first_epoch = int(state.get("epoch", 0))
    if first_epoch >= args.max_epochs and ctx.is_main:
        logger.warning("nothing to train: the loaded checkpoint has done %d epochs and --max_epochs is %d "
                       "(fork with a larger --max_epochs to continue)", first_epoch, args.max_epochs)
    for epoch in range(first_epoch, args.max_epochs):
        for dataset in train_sets:
            dataset.shuffle(shuffle_rng)
        step0 = int(state.get("step", 0))
        report_batch = partial(_report_batch, ctx.is_main, epoch, step0, batch_count)
        result = train_epoch(trained, train_sets, batch_count, vocab, criterion, optimizer, ctx.device,
                             args.batch_size, args.teacher_forcing, report_batch,
                             show_progress=ctx.is_main and sys.stderr.isatty(), description=f"epoch {epoch}")
        state.update(epoch=epoch + 1, step=step0 + batch_count)
        if not ctx.is_main:
            continue
        valid = evaluate(model, valid_set, vocab, criterion, ctx.device, args.batch_size)
        logger.info("epoch %d: train loss %.4f cer %.4f (%.1f s) | eval loss %.4f cer %.4f",
                    epoch, result.loss, result.cer, result.seconds, valid.loss, valid.cer)
        nsml.report(True, step=state["step"], train__loss=result.loss, train__cer=result.cer,
                    eval__loss=valid.loss, eval__cer=valid.cer, epoch=epoch + 1)
        is_best = valid.loss < state.get("best_loss", math.inf)
        if is_best:
            state["best_loss"] = valid.loss
        nsml.save(args.save_name)
        if is_best:
            nsml.save("best")
            logger.info("epoch %d: new best eval loss %.4f saved as 'best'", epoch, valid.loss)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    ctx = setup_distributed(use_cuda)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    try:
        vocab = Vocab.from_file(args.labels)
        config = ModelConfig(vocab_size=len(vocab), sos_id=vocab.sos_id, eos_id=vocab.eos_id, feature_size=N_FREQ,
                             hidden_size=args.hidden_size, layer_size=args.layer_size, dropout=args.dropout,
                             bidirectional=args.bidirectional, use_attention=args.use_attention,
                             max_len=args.max_len)
        model = build_model(config).to(ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        state: dict = {"epoch": 0, "step": 0}
        bind_model(model, optimizer, config=config, vocab=vocab, device=ctx.device, train_state=state)
        if args.pause == 1:
            nsml.paused(scope=locals())
        if args.mode != "train":
            return 0
        train(args, ctx, model, optimizer, vocab, state)
    except (LabelTableError, DatasetError, AudioError) as err:
        print(f"main.py: error: {err}", file=sys.stderr)
        return 2
    finally:
        cleanup(ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
