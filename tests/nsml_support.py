"""Shared pieces of the nsml tests: a tiny dataset, a toy user program, and running the nsml command.

The toy entry is a real hackathon-style program: argparse with --mode/--pause/--epochs, bound save/load/infer, one
report and two checkpoints (the epoch number and 'best') per epoch, ``nsml.paused(scope=locals())`` under
--pause 1. Its "model" learns a table from wav length (in frames) to transcript, one training utterance per epoch,
so the predictions of each checkpoint, and hence its CRR, are known exactly. Like the baseline's
``--use_attention``, its ``--use_attention`` flag is part of the model: a checkpoint loads only into a run with the
same setting. ``--ballast_mb N`` holds N MiB while training (not when submitting), to tell processes apart by
their peak memory.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

RATE = 16000
# (file stem, frames, transcript): test wavs share lengths with training wavs, so a trained toy "recognises" them
TRAIN = [("train_01", 1600, "안녕하세요"), ("train_02", 2400, "감사합니다"), ("train_03", 3200, "괜찮습니다")]
TEST = [("test_01", 1600, "안녕하세요"), ("test_02", 2400, "감사해요"), ("test_03", 3200, "괜찮습니다"),
        ("test_04", 1600, "안녕하세요"), ("test_05", 2400, "감사합니다"), ("test_06", 3200, "괜찮아요")]

TOY_ENTRY = '''
import argparse, json, os, time, wave

import nsml
from nsml import DATASET_NAME, DATASET_PATH, GPU_NUM, HAS_DATASET, IS_ON_NSML, SESSION_NAME


def frames(path):
    with wave.open(path) as wav:
        return wav.getnframes()


def bind_model(model, args):
    def save(path, **kwargs):
        model["use_attention"] = args.use_attention
        with open(os.path.join(path, "model.json"), "w") as f:
            json.dump(model, f)
        time.sleep(args.save_seconds)

    def load(path, **kwargs):
        if args.broken == "load":
            raise RuntimeError("toy load is broken")
        time.sleep(args.load_seconds)
        with open(os.path.join(path, "model.json")) as f:
            saved = json.load(f)
        if saved["use_attention"] != args.use_attention:
            raise RuntimeError(f"checkpoint has use_attention={saved['use_attention']}, this run "
                               f"{args.use_attention}: the flags must match the checkpoint")
        model.clear()
        model.update(saved)
        print("loaded epoch", model["epoch"], flush=True)

    def infer(wav_path):
        if args.broken == "infer":
            raise ValueError("toy infer is broken on " + os.path.basename(wav_path))
        return model["table"].get(str(frames(wav_path)), "")

    nsml.bind(save=save, load=load, infer=infer)


def main():
    parser = argparse.ArgumentParser(description="toy hackathon entry")
    parser.add_argument("--mode", default="train")
    parser.add_argument("--pause", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--epoch_seconds", type=float, default=0.0)
    parser.add_argument("--save_seconds", type=float, default=0.0)
    parser.add_argument("--load_seconds", type=float, default=0.0)
    parser.add_argument("--broken", default="")
    parser.add_argument("--use_attention", action="store_true")
    parser.add_argument("--ballast_mb", type=int, default=0)
    args = parser.parse_args()
    print("ENV " + json.dumps({"DATASET_PATH": DATASET_PATH, "DATASET_NAME": DATASET_NAME, "GPU_NUM": GPU_NUM,
                               "HAS_DATASET": HAS_DATASET, "IS_ON_NSML": IS_ON_NSML, "SESSION_NAME": SESSION_NAME,
                               "cwd": os.getcwd(), "pid": os.getpid()}), flush=True)
    model = {"epoch": 0, "table": {}}
    bind_model(model, args)
    if args.pause == 1:
        nsml.paused(scope=locals())
    if args.mode != "train":
        return
    ballast = b"x" * (args.ballast_mb << 20)  # written, so really resident
    data = os.path.join(DATASET_PATH, "train", "train_data")
    with open(os.path.join(data, "data_list.csv")) as f:
        wavs = [line.split(",")[0] for line in f if line.strip()]
    with open(os.path.join(DATASET_PATH, "train", "train_label"), encoding="utf-8") as f:
        labels = dict(line.rstrip("\\n").split(",", 1) for line in f if line.strip())
    print("starting at epoch", model["epoch"], flush=True)
    for epoch in range(model["epoch"], args.epochs):
        time.sleep(args.epoch_seconds)
        wav = wavs[epoch % len(wavs)]
        model["table"][str(frames(os.path.join(data, wav)))] = labels[wav.split(".")[0]]
        model["epoch"] = epoch + 1
        loss = 1.0 / (epoch + 1)
        nsml.report(False, step=epoch + 1, train__loss=loss, eval__loss=1.5 * loss, train__cer=loss / 2,
                    eval__cer=loss / 3)
        nsml.report(summary=True, step=epoch + 1, eval__cer=loss / 3, epoch=epoch + 1)
        nsml.save(epoch + 1)
        nsml.save("best")
        print("epoch", epoch + 1, "done", flush=True)
    del ballast


main()
'''


def write_wav(path: Path, frames: int) -> None:
    """A 440 Hz tone, 16 kHz 16-bit mono, as the hackathon's audio."""
    tone = [int(8000 * ((i * 440 * 4 // RATE) % 2 * 2 - 1)) for i in range(frames)]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{frames}h", *tone))


def make_dataset(root: Path) -> Path:
    """The hackathon layout with the TRAIN and TEST utterances above."""
    for split, rows, list_name, label_path in (
            ("train", TRAIN, "data_list.csv", root / "train" / "train_label"),
            ("test", TEST, "test_list.csv", root / "test" / "test_label")):
        data = root / split / f"{split}_data"
        data.mkdir(parents=True)
        for stem, frames, _ in rows:
            write_wav(data / f"{stem}.wav", frames)
        (data / list_name).write_text("".join(f"{stem}.wav,{stem}.label\n" for stem, _, _ in rows))
        label_path.write_text("".join(f"{stem},{text}\n" for stem, _, text in rows), encoding="utf-8")
    return root


def nsml_cli(env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True,
             timeout: float = 60, columns: int | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m nsml ARGS`` as a user would; ``check`` asserts it succeeded (showing its output if not).

    Output goes to a pipe, so tables are whole unless ``columns`` gives a terminal width (``$COLUMNS``); an exported
    ``COLUMNS`` of the shell running the tests is not passed on.
    """
    run_env = {key: value for key, value in env.items() if key != "COLUMNS"}
    if columns is not None:
        run_env["COLUMNS"] = str(columns)
    result = subprocess.run([sys.executable, "-m", "nsml", *args], cwd=cwd, env=run_env, capture_output=True,
                            text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"nsml {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def wait_for(condition, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
