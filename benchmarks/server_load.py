"""Load on ``nsml server``: concurrent submitting teams and board readers, latency percentiles per kind of request.

``python -m benchmarks.server_load [--teams 20] [--readers 50] [--submits 2] [--workers 1]`` (as root, with
bubblewrap installed) starts a real server on 127.0.0.1 in a temporary home, a competition on a generated toy
dataset, and one team per submitting client; each team trains a toy entry through the real ``nsml`` CLI (the set-up,
not timed). Then, all at once, every team submits ``--submits`` times over HTTP (the same API the CLI uses) while
``--readers`` clients read the public board (JSON and HTML) in a loop until the last submit is scored. It prints
the count, p50, p95 and max latency of each kind. A submit's latency is mostly its wait for a scoring slot: the
server scores ``--workers`` at a time, each in a fresh sandbox with a fresh Python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ENTRY = '''
import argparse, json, os, wave
import nsml
from nsml import DATASET_PATH


def frames(path):
    with wave.open(path) as w:
        return w.getnframes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="train")
    parser.add_argument("--pause", type=int, default=0)
    args = parser.parse_args()
    model = {}

    def save(path, **kwargs):
        json.dump(model, open(os.path.join(path, "model.json"), "w"))

    def load(path, **kwargs):
        model.update(json.load(open(os.path.join(path, "model.json"))))

    nsml.bind(save=save, load=load, infer=lambda wav: model.get(str(frames(wav)), ""))
    if args.pause == 1:
        nsml.paused(scope=locals())
    data = os.path.join(DATASET_PATH, "train", "train_data")
    labels = dict(line.strip().split(",", 1) for line in open(os.path.join(DATASET_PATH, "train", "train_label")))
    for line in open(os.path.join(data, "data_list.csv")):
        wav = line.split(",")[0]
        model[str(frames(os.path.join(data, wav)))] = labels[wav.split(".")[0]]
    nsml.save("best")


main()
'''

TEXTS = ["안녕하세요", "감사합니다", "괜찮습니다", "네 맞습니다"]


def _wav(path: Path, frames: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(struct.pack(f"<{frames}h", *([1000, -1000] * (frames // 2))))


def make_dataset(root: Path, test_count: int = 20) -> None:
    """Four training utterances told apart by length, and ``test_count`` test utterances of those lengths."""
    for split, count, list_name, label in (("train", len(TEXTS), "data_list.csv", root / "train" / "train_label"),
                                           ("test", test_count, "test_list.csv", root / "test" / "test_label")):
        data = root / split / f"{split}_data"
        data.mkdir(parents=True)
        rows = [(f"{split}_{i:03d}", 1600 * (1 + i % len(TEXTS)), TEXTS[i % len(TEXTS)]) for i in range(count)]
        for stem, frames, _ in rows:
            _wav(data / f"{stem}.wav", frames)
        (data / list_name).write_text("".join(f"{s}.wav,{s}.label\n" for s, _, _ in rows))
        label.write_text("".join(f"{s},{t}\n" for s, _, t in rows), encoding="utf-8")


def nsml(config: Path, *args: str, cwd: Path | None = None) -> str:
    env = dict(os.environ, XDG_CONFIG_HOME=str(config))
    env.pop("NSML_SERVER", None)
    done = subprocess.run([sys.executable, "-m", "nsml", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"nsml {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def report(kind: str, latencies: list[float], failures: int) -> str:
    if not latencies:
        return f"{kind:<14} no requests"
    return (f"{kind:<14} {len(latencies):>6} requests  p50 {1000 * statistics.median(latencies):8.1f} ms  "
            f"p95 {1000 * percentile(latencies, 0.95):8.1f} ms  max {1000 * max(latencies):8.1f} ms  "
            f"{failures} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=20, help="concurrent submitting clients, one team each")
    parser.add_argument("--readers", type=int, default=50, help="concurrent board readers")
    parser.add_argument("--submits", type=int, default=2, help="submissions per team")
    parser.add_argument("--workers", type=int, default=1, help="submissions the server scores at once")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="nsml-server-load-"))
    make_dataset(scratch / "data")
    server = subprocess.Popen([sys.executable, "-m", "nsml", "server", "--home", str(scratch / "home"), "--port", "0",
                               "--workers", str(args.workers), "--threads", str(args.teams + args.readers + 8)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise SystemExit(f"the server did not start: {line}{server.stderr.read()}")
        url = match.group(1).rstrip("/")
        organiser = scratch / "organiser"
        nsml(organiser, "login", url, (scratch / "home" / "organiser.token").read_text().strip())
        nsml(organiser, "admin", "competition", "create", "toy", str(scratch / "data"), "--public", "0.5")
        nsml(organiser, "admin", "phase", "toy", "main", "--start", "now", "--end", "+1d")
        tokens = []
        started = time.perf_counter()

        def set_up(index: int) -> str:
            team = f"team{index:02d}"
            token = nsml(organiser, "admin", "team", "add", team).split()[-1]
            config, code = scratch / f"config-{team}", scratch / f"code-{team}"
            code.mkdir()
            (code / "main.py").write_text(ENTRY, encoding="utf-8")
            nsml(config, "login", url, token)
            nsml(config, "run", "-d", "toy", cwd=code)
            return token

        with ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(set_up, range(args.teams)))
        print(f"set-up: {args.teams} teams trained in {time.perf_counter() - started:.0f} s (not timed below)")
        latencies: dict[str, list[float]] = {"submit": [], "board json": [], "board html": []}
        failures = {kind: 0 for kind in latencies}
        lock = threading.Lock()
        done = threading.Event()

        def timed(kind: str, call) -> None:
            begin = time.perf_counter()
            try:
                ok = call()
            except requests.RequestException:
                ok = False
            with lock:
                latencies[kind].append(time.perf_counter() - begin)
                failures[kind] += not ok

        def submitter(index: int) -> None:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {tokens[index]}"
            for _ in range(args.submits):
                timed("submit", lambda: http.post(f"{url}/api/v1/submit", timeout=3600, json={
                    "session": f"team{index:02d}/toy/1", "checkpoint": "best"}).json().get("rc") == 0)

        def reader(index: int) -> None:
            http = requests.Session()
            while not done.is_set():
                if index % 2:
                    timed("board html", lambda: http.get(f"{url}/board/toy", timeout=60).ok)
                else:
                    timed("board json", lambda: bool(http.get(f"{url}/api/v1/public/board/toy",
                                                              timeout=60).json()["rows"]) or True)

        began = time.perf_counter()
        readers = [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
        for thread in readers:
            thread.start()
        with ThreadPoolExecutor(args.teams) as pool:
            list(pool.map(submitter, range(args.teams)))
        done.set()
        for thread in readers:
            thread.join()
        elapsed = time.perf_counter() - began
        board = requests.get(f"{url}/api/v1/public/board/toy", timeout=60).json()
        print(f"{args.teams} submitting clients x {args.submits} submits, {args.readers} board readers, "
              f"{args.workers} scoring worker(s), {os.cpu_count()} cores: {elapsed:.1f} s")
        for kind in latencies:
            print(report(kind, latencies[kind], failures[kind]))
        print(f"board: {len(board['rows'])} teams ranked; "
              f"{sum(r['submissions'] for r in board['rows'])} scored submissions")
        print(json.dumps({kind: {"count": len(v), "p95_ms": round(1000 * percentile(v, 0.95), 1) if v else None}
                          for kind, v in latencies.items()}))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
