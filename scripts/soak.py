"""Soak test: train with random SIGKILLs and resume with ``nsml fork``, then compare the loss curve with runs that
were never interrupted.

    python scripts/soak.py --epochs 4 --kills 3          # about 2.5 min on 2 CPU cores with the default tiny model

Three sessions run on ``sample_dataset`` in a private ``$NSML_HOME``:

1. the reference: ``nsml run`` for ``--epochs`` epochs, never interrupted;
2. the noise run: the same with ``--workers 1``: the same validation split and model start, another batch order and
   other random draws, which is exactly how a resumed run differs (it restarts its random streams);
3. the killed chain: ``nsml run --detach``, then ``--kills`` times: wait until the session has saved a new
   checkpoint, wait a random part of an epoch more (so kills land mid-epoch and mid-save), SIGKILL the supervisor or
   the training process, check the database and the last checkpoint are whole and finite, and
   ``nsml fork SESSION model`` to go on; the last fork runs to the end.

It prints how many kills the chain survived (every fork resumed from a whole, finite checkpoint at least as far as
the one before) and whether the chain's evaluation-loss curve matches the reference within the noise run's
distance. Exit status 0 when both hold, 1 otherwise, 2 for bad options.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nsml.store import Store  # noqa: E402
from speech_kit.cli import fail  # noqa: E402

PROG = "soak.py"
TINY = ("--hidden_size 32 --layer_size 1 --batch_size 8 --workers 2 --use_attention --max_len 10 --lr 1e-3 "
        "--feature logmel --conv_channels 8")
NOISE_FACTOR = 2.0  # the chain may stray from the reference this many times as far as the noise run does
POLL_S = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description="Train with random kills and resumes; compare the loss "
                                                            "curve with uninterrupted runs.")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of every run (default 4)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs during the chain (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill times and victims (default 1)")
    parser.add_argument("--args", default=TINY, help=f"main.py flags besides --max_epochs (default: {TINY})")
    parser.add_argument("--work", type=Path, help="folder for NSML_HOME and the check cache (default: a temporary "
                                                  "folder, removed afterwards)")
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.kills < 1:
        parser.error("--epochs must be at least 2 and --kills at least 1")
    return args


@dataclass
class Platform:
    """The ``nsml`` command on a private home, run from the repository root."""

    home: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NSML_")}
        self.env.update(NSML_HOME=str(self.home), NSML_USER="soak",
                        SPEECH_KIT_CACHE=str(self.home / "audio-checks.sqlite"))

    def nsml(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "nsml", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"nsml {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done

    @property
    def store(self) -> Store:
        return Store(self.home / "nsml.sqlite")

    def wait_until_ended(self, name: str) -> str:
        while True:
            self.nsml("ps")  # notices a killed supervisor
            session = self.store.session(name)
            if session is not None and not session.active:
                return session.status
            time.sleep(POLL_S)

    def eval_curve(self, names: list[str]) -> dict[int, float]:
        """Evaluation loss per epoch over ``names`` in order; a later session's value replaces an earlier one's
        (an epoch redone after a kill)."""
        curve: dict[int, float] = {}
        for name in names:
            rows = self.store.metrics(name)
            epoch_at = {m.step: int(m.value) for m in rows if m.key == "epoch" and m.value is not None}
            for m in rows:
                if m.key == "eval__loss" and m.step in epoch_at and m.value is not None:
                    curve[epoch_at[m.step]] = m.value
        return curve

    def checkpoint(self, name: str, checkpoint: str = "model") -> Path:
        return self.home / "sessions" / name / "checkpoints" / checkpoint


def whole_and_finite(platform: Platform, name: str) -> int:
    """The epoch of ``name``'s ``model`` checkpoint, after checking that it and the database are whole; raises
    ``RuntimeError`` otherwise."""
    from models import load_checkpoint

    with sqlite3.connect(platform.home / "nsml.sqlite") as db:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError("the database is corrupt after the kill")
    checkpoint = load_checkpoint(platform.checkpoint(name))
    if not all(bool(t.isfinite().all()) for t in checkpoint.model_state.values() if t.is_floating_point()):
        raise RuntimeError(f"{name}: checkpoint 'model' holds NaN or infinite weights")
    pending = platform.checkpoint(name, ".pending")
    if pending.is_dir() and any(pending.iterdir()):
        raise RuntimeError(f"{name}: a half-made save was left in {pending}")
    return int(checkpoint.train_state["epoch"])


def run_chain(platform: Platform, flags: str, kills: int, rng: random.Random,
              epoch_s: float) -> tuple[list[str], list[str]]:
    """The killed chain; returns its sessions in order and one line per kill made (fewer than ``kills`` when the
    chain finished first)."""
    chain = [platform.nsml("run", "--detach", "-a", flags).stdout.strip()]
    events: list[str] = []
    resumed_from = 0
    for kill in range(1, kills + 1):
        current = chain[-1]
        while not platform.checkpoint(current).exists():  # a fork's adopted 'best' does not count: its own 'model'
            if not platform.store.session(current).active:
                break
            time.sleep(POLL_S)
        time.sleep(rng.uniform(0.0, 0.8 * epoch_s))  # into the next epoch, or its save
        session = platform.store.session(current)
        if not session.active:
            break
        victim = rng.choice(["supervisor", "entry"])
        os.kill(session.supervisor_pid if victim == "supervisor" else session.child_pid, signal.SIGKILL)
        status = platform.wait_until_ended(current)
        epoch = whole_and_finite(platform, current)
        if epoch < resumed_from:
            raise RuntimeError(f"kill {kill}: checkpoint 'model' went back from epoch {resumed_from} to {epoch}")
        events.append(f"kill {kill}: SIGKILL to the {victim} of {current} ({status}); 'model' whole and finite at "
                      f"epoch {epoch}, resumed by fork")
        resumed_from = epoch
        chain.append(platform.nsml("fork", current, "model", "--detach").stdout.strip())
    final = platform.wait_until_ended(chain[-1])
    if final != "done":
        raise RuntimeError(f"the last session {chain[-1]} ended {final}")
    return chain, events


def timed_run(platform: Platform, flags: str) -> tuple[str, float]:
    started = time.time()
    platform.nsml("run", "-a", flags)
    name = max(platform.store.sessions(), key=lambda s: s.created).name
    return name, time.time() - started


def describe(curve: dict[int, float]) -> str:
    return " ".join(f"{curve[e]:.4f}" for e in sorted(curve))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        shlex.split(args.args)
    except ValueError as error:
        return fail(PROG, f"--args: {error}")
    with tempfile.TemporaryDirectory(prefix="nsml-soak-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        platform = Platform(work / "home")
        epochs = list(range(1, args.epochs + 1))
        flags = f"{args.args} --max_epochs {args.epochs}"
        print(f"soak: {args.epochs} epochs of main.py {args.args} on sample_dataset, {args.kills} kills, "
              f"NSML_HOME {platform.home}", flush=True)
        reference, seconds = timed_run(platform, flags)
        print(f"soak: reference {reference}: {seconds:.0f} s, eval loss per epoch "
              f"{describe(platform.eval_curve([reference]))}", flush=True)
        noise, _ = timed_run(platform, f"{flags} --workers 1")
        print(f"soak: noise run {noise} (--workers 1): {describe(platform.eval_curve([noise]))}", flush=True)
        rng = random.Random(args.seed)
        try:
            chain, events = run_chain(platform, flags, args.kills, rng, seconds / args.epochs)
        except RuntimeError as error:
            print(f"soak: FAILED: {error}", flush=True)
            return 1
        for event in events:
            print(f"soak: {event}", flush=True)
        ref, other, killed = (platform.eval_curve(names) for names in ([reference], [noise], chain))
        if sorted(killed) != epochs or sorted(ref) != epochs or sorted(other) != epochs:
            print(f"soak: FAILED: epochs reported: reference {sorted(ref)}, chain {sorted(killed)}")
            return 1
        noise_gap = max(abs(ref[e] - other[e]) for e in epochs)
        chain_gap = max(abs(ref[e] - killed[e]) for e in epochs)
        matches = chain_gap <= NOISE_FACTOR * noise_gap + 1e-3
        print(f"soak: killed chain {' -> '.join(chain)}: eval loss per epoch {describe(killed)}")
        short = "" if len(events) == args.kills else f" (of {args.kills} asked: the chain finished first)"
        print(f"soak: survived {len(events)} kills{short}; largest distance from the reference's curve: "
              f"chain {chain_gap:.4f}, noise run {noise_gap:.4f}; final eval loss reference "
              f"{ref[epochs[-1]]:.4f}, chain {killed[epochs[-1]]:.4f}: "
              f"{'matches within noise' if matches else 'DOES NOT match'} (limit {NOISE_FACTOR:g} x noise)")
        return 0 if matches and events else 1


if __name__ == "__main__":
    sys.exit(main())
