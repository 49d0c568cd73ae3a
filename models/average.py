"""Average checkpoints' weights: ``python -m models.average CHECKPOINT_DIR... --out OUT_DIR``.

The mean of several snapshots of one run (the last epochs of a cosine schedule, say) often generalises a little
better than any one of them. Every floating-point tensor of the state (weights and batch normalisation's running
statistics) is averaged; integer ones (batch normalisation's step counters) and the training state are the last
checkpoint's. The result is written like ``models.export``'s, without optimizer state, with the last checkpoint's
JSON files (a task description, an n-gram LM) beside it. Checkpoints of another architecture, feature or label
table than the first are refused, naming the one that differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from models.checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint
from models.export import write_export
from speech_kit.cli import fail

PROG = "models.average"


def average_states(checkpoints: list[Checkpoint]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' floating-point tensors; other tensors from the last one."""
    last = checkpoints[-1].model_state
    averaged = {}
    for name, tensor in last.items():
        if tensor.is_floating_point():
            total = torch.zeros_like(tensor, dtype=torch.float64)
            for checkpoint in checkpoints:
                total += checkpoint.model_state[name].to(torch.float64)
            averaged[name] = (total / len(checkpoints)).to(tensor.dtype)
        else:
            averaged[name] = tensor.clone()
    return averaged


def average(sources: list[str | Path], target: str | Path) -> Path:
    """Write the average of ``sources`` to ``target/model.pt``; returns its path."""
    if not sources:
        raise CheckpointError("no checkpoints to average")
    checkpoints = [load_checkpoint(source) for source in sources]
    first = checkpoints[0]
    for source, checkpoint in zip(sources[1:], checkpoints[1:]):
        check_compatible(checkpoint, first.config, first.vocab, str(source), first.features, first.units)
    mean = Checkpoint(first.config, first.vocab, average_states(checkpoints), None, checkpoints[-1].train_state,
                      first.features, first.units)
    return write_export(mean, sources[-1], target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint folders holding model.pt (one run's snapshots)")
    parser.add_argument("--out", required=True, help="folder to write the averaged checkpoint into")
    args = parser.parse_args(argv)
    try:
        path = average(args.checkpoints, args.out)
    except (CheckpointError, OSError) as err:
        return fail(PROG, err)
    print(f"averaged {len(args.checkpoints)} checkpoint(s) into {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
