"""Fine-tuning ``main.py`` (and ``ru_numbers.train``) from a checkpoint (``--init``): its architecture taken over,
its units checked against the user's transcripts.

A shipped model (``pretrained/korean``) was trained with a dozen architecture flags; a participant who wants to
start from it should not have to repeat them, and must not be able to contradict them by accident. So the
checkpoint's architecture, feature and unit kind fill in the flags the command line leaves out, and a flag the
command line *gives* with another value is a one-line error naming both values. The weights themselves are loaded
by ``entry.Binding.init``, the one implementation both entries use.

The model's output units are the checkpoint's, not the user's label table: the user's table is only how their
transcripts are read. Every character the transcripts need must be something the checkpoint can output; with jamo
units every Hangul syllable decomposes into units it has, so only other characters (digits, Latin letters) can be
missing, and those are named.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from models.checkpoint import CHECKPOINT_FILE, Checkpoint
from models.config import format_conv_kernels, format_conv_time_strides
from speech_kit.units import TextUnits
from speech_kit.vocab import Vocab


class FineTuneError(ValueError):
    """A flag that contradicts the ``--init`` checkpoint, or transcripts it cannot spell; the message says which."""


def init_path(text: str, roots: Sequence[Path] = ()) -> str:
    """``--init``'s ``type``: the checkpoint folder as given, else under one of ``roots`` (a session runs in its code
    snapshot, which leaves out ``pretrained/``; the checkout it came from still has it). A folder without
    ``model.pt`` is refused while the flags are parsed, so ``nsml run`` refuses it before a session exists."""
    for candidate in (Path(text), *(root / text for root in roots if not os.path.isabs(text))):
        if (candidate / CHECKPOINT_FILE).is_file():
            return str(candidate.resolve())
    where = f" (nor under {', '.join(str(r) for r in roots)})" if roots and not os.path.isabs(text) else ""
    raise argparse.ArgumentTypeError(f"{text}: no {CHECKPOINT_FILE} there{where}; give a checkpoint folder such as "
                                     f"pretrained/korean")


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> set[str]:
    """The ``dest`` of every option the command line gives, whatever its value (a default given explicitly counts):
    the same arguments parsed again with every default suppressed."""
    saved = {action.dest: action.default for action in parser._actions}
    try:
        for action in parser._actions:
            action.default = argparse.SUPPRESS
        return set(vars(parser.parse_known_args(argv)[0]))
    finally:
        for action in parser._actions:
            action.default = saved[action.dest]


def _ctc_weight(checkpoint: Checkpoint) -> float:
    """A loss weight that gives the checkpoint's heads: CTC only, decoder only, or both (half each)."""
    config = checkpoint.config
    return 1.0 if not config.decoder else 0.0 if not config.ctc else 0.5


def _heads(ctc_weight: float) -> tuple[bool, bool]:
    return ctc_weight < 1.0, ctc_weight > 0.0  # (decoder, ctc), as main.py builds them


def adopt_architecture(args: argparse.Namespace, given: set[str], checkpoint: Checkpoint, where: str,
                       names: Sequence[str] | None = None) -> list[str]:
    """Set ``args``' architecture flags to the checkpoint's; returns the ``--flag value`` pairs taken over.
    ``names``: the architecture flags an entry has (default: all of ``main.py``'s, ``--ctc_weight`` included).

    Raises ``FineTuneError`` naming every flag the command line gives with a value the checkpoint contradicts."""
    config, features = checkpoint.config, checkpoint.features
    wanted = {"hidden_size": config.hidden_size, "layer_size": config.layer_size,
              "bidirectional": config.bidirectional, "use_attention": config.use_attention,
              "attention": config.attention, "conv_channels": config.conv_channels, "conv_kernels": config.conv_kernels,
              "conv_time_strides": config.conv_time_strides, "feature": features.kind,
              "n_mels": features.n_mels, "feature_norm": features.normalize, "units": checkpoint.units}
    if names is not None:
        wanted = {name: value for name, value in wanted.items() if name in names}
    conflicts = [f"--{name} {_shown(name, getattr(args, name))} (it has {_shown(name, value)})"
                 for name, value in wanted.items()
                 if name in given and getattr(args, name) != value and not _irrelevant(name, features.kind)]
    weighs_heads = names is None or "ctc_weight" in names
    if weighs_heads and "ctc_weight" in given and _heads(args.ctc_weight) != (config.decoder, config.ctc):
        heads = "CTC only: 1" if not config.decoder else "no CTC layer: 0" if not config.ctc else "both: in (0, 1)"
        conflicts.append(f"--ctc_weight {args.ctc_weight} (its heads are {heads})")
    if conflicts:
        raise FineTuneError(f"--init {where}: its architecture is fixed, and {'; '.join(conflicts)}; leave these "
                            f"flags out (the checkpoint's are used) or train from scratch without --init")
    taken = []
    for name, value in wanted.items():
        if getattr(args, name) != value:
            taken.append(f"--{name}" if value is True else f"no --{name}" if value is False
                         else f"--{name} {_shown(name, value)}")
        setattr(args, name, value)
    if weighs_heads and "ctc_weight" not in given:
        args.ctc_weight = _ctc_weight(checkpoint)
        taken.append(f"--ctc_weight {args.ctc_weight:g}")
    return taken


_FORMATS = {"conv_kernels": format_conv_kernels, "conv_time_strides": format_conv_time_strides}


def _shown(name: str, value: object) -> str:
    """A flag's value as it is typed: kernels ``((21, 11), (11, 11))`` as ``21x11,11x11``, strides as ``2,3``."""
    return _FORMATS.get(name, str)(value)


def _irrelevant(name: str, feature: str) -> bool:
    """``--n_mels``/``--feature_norm`` mean nothing for the seed's STFT feature, so they cannot contradict it."""
    return feature != "logmel" and name in ("n_mels", "feature_norm")


def check_coverage(transcripts: Iterable[str], units: TextUnits, vocab: Vocab, where: str) -> None:
    """Refuse transcripts with characters the checkpoint cannot output, naming them (and how many utterances each)."""
    known = set(vocab.chars)
    missing: Counter = Counter()
    for text in transcripts:
        for char in set(text):
            if not set(units.encode(char)) <= known:
                missing[char] += 1
    if not missing:
        return
    named = ", ".join(f"{char!r} ({count} utterance{'s' * (count > 1)})" for char, count in missing.most_common(12))
    more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
    covered = " (its units are jamo: every Hangul syllable is covered)" if units.kind == "jamo" else ""
    raise FineTuneError(f"--init {where}: the training transcripts use {len(missing)} character(s) its "
                        f"{len(vocab)} output units lack{covered}: {named}{more}; spell them out in the transcripts "
                        f"(e.g. digits as Hangul words) or train from scratch without --init")
