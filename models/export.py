"""Export a checkpoint for shipping: ``python -m models.export CHECKPOINT_DIR OUT_DIR``.

Keeps what transcribing needs (architecture, feature, units, label table, weights, and the JSON files beside
them: the n-gram LM, a task description, a recommended decoding) and drops the optimizer state, which is twice the
weights' size for Adam and only serves resuming training. Decoding flags (``--beam_size 8 --lm_weight 0.5
--length_bonus 1``) are recorded as the export's recommended decoding (``models.recommended``), which the
transcriber, ``infer`` and ``nsml submit`` then use by default.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from models.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from models.decoding import DecodingOptions
from models.recommended import TUNABLE, describe, write_recommended
from speech_kit.cli import fail

PROG = "models.export"


def export(source: str | Path, target: str | Path) -> Path:
    """Write ``target/model.pt`` (and ``lm.json`` when the source has one); returns the model file's path."""
    return write_export(load_checkpoint(source), source, target)


def write_export(checkpoint: Checkpoint, source: str | Path, target: str | Path) -> Path:
    """``checkpoint`` without optimizer state to ``target/model.pt``, with the JSON files of the ``source`` folder
    beside it; returns the model file's path (``models.average`` writes its mean through this too)."""
    Path(target).mkdir(parents=True, exist_ok=True)
    path = save_checkpoint(target, checkpoint.build(), checkpoint.config, checkpoint.vocab, None,
                           checkpoint.train_state, checkpoint.features, checkpoint.units)
    for extra in Path(source).iterdir():  # what travels beside the weights: lm.json, a task's task.json
        if extra.is_file() and extra.suffix == ".json":
            shutil.copyfile(extra, Path(target) / extra.name)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoint folder holding model.pt")
    parser.add_argument("out", help="folder to write the exported checkpoint into")
    search = parser.add_argument_group("recommended decoding", "recorded in OUT/decoding.json when any is given")
    search.add_argument("--beam_size", type=int, default=None, help="beam width (1: greedy)")
    search.add_argument("--length_penalty", type=float, default=None, help="attention beams: length penalty")
    search.add_argument("--lm_weight", type=float, default=None, help="weight of the checkpoint's n-gram LM")
    search.add_argument("--length_bonus", type=float, default=None, help="per-unit bonus in CTC beam search")
    search.add_argument("--stretch", type=float, default=None,
                        help="features stretched in time this many times before encoding (1.1: heard 10%% slower)")
    args = parser.parse_args(argv)
    given = {name: getattr(args, name) for name in TUNABLE if getattr(args, name) is not None}
    try:
        options = DecodingOptions(**given)
    except ValueError as err:
        parser.error(str(err))
    try:
        path = export(args.checkpoint, args.out)
        if given:
            write_recommended(args.out, options, note=f"python -m {PROG} {' '.join(argv or sys.argv[1:])}")
    except (CheckpointError, OSError) as err:
        return fail(PROG, err)
    print(f"exported {args.checkpoint} to {path} ({path.stat().st_size / 2**20:.1f} MiB)"
          + (f"; recommended decoding: {describe(options)}" if given else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
