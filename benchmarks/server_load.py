"""Load on ``nsml server``: concurrent submitting teams and board readers, latency percentiles per kind of request.

``python -m benchmarks.server_load [--teams 20] [--readers 50] [--seconds 60] [--workers 1] [--database URL]`` (as
root, with bubblewrap installed) starts a real server on 127.0.0.1 in a temporary home, a competition on a
generated toy dataset, and one team per submitting client; each team trains a toy entry through the real ``nsml``
CLI (the set-up, not timed). Then, all at once, every team submits over HTTP (the same API the CLI uses), one
submit after another, for ``--seconds``, while ``--readers`` clients read the public board (JSON and HTML) in a loop
until the last submit is scored. It prints the count, p50, p95 and max latency of each kind, then checks the
server's records against what every client was told: each accepted submission recorded once, numbered 1, 2, ...
per team, and scored. Exit status 1 on any error, lost or duplicated submission. A submit's latency is mostly its
wait for a scoring slot: the server scores ``--workers`` at a time, each in a fresh sandbox with a fresh Python.
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


def check_submissions(url: str, token: str, sent: dict[str, list[int]]) -> tuple[list[str], int]:
    """Compare what each team was told (its submission numbers) with what the server recorded: (problems, count)."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    rows = http.get(f"{url}/api/v1/submissions/toy", timeout=120).json()
    recorded: dict[str, list[int]] = {}
    problems = []
    for row in rows:
        recorded.setdefault(row["team"], []).append(row["number"])
        if row["status"] != "scored":
            problems.append(f"{row['team']} submission {row['number']} is {row['status']}: {row['reason']}")
    for team in sorted(set(sent) | set(recorded)):
        told, kept = sorted(sent.get(team, [])), sorted(recorded.get(team, []))
        lost = sorted(set(told) - set(kept))
        duplicated = sorted({n for n in kept if kept.count(n) > 1} | {n for n in told if told.count(n) > 1})
        unknown = sorted(set(kept) - set(told))
        if lost or duplicated or unknown or kept != list(range(1, len(kept) + 1)):
            problems.append(f"{team}: told {told}, recorded {kept} (lost {lost}, duplicated {duplicated}, "
                            f"never answered {unknown})")
    return problems, len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=20, help="concurrent submitting clients, one team each")
    parser.add_argument("--readers", type=int, default=50, help="concurrent board readers")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long the clients keep submitting and reading (the last submits then finish)")
    parser.add_argument("--workers", type=int, default=1, help="submissions the server scores at once")
    parser.add_argument("--database", metavar="URL", help="postgresql://... for the server's records (default SQLite)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="nsml-server-load-"))
    make_dataset(scratch / "data")
    command = [sys.executable, "-m", "nsml", "server", "--home", str(scratch / "home"), "--port", "0",
               "--workers", str(args.workers), "--threads", str(args.teams + args.readers + 8)]
    server = subprocess.Popen(command + (["--database", args.database] if args.database else []),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise SystemExit(f"the server did not start: {line}{server.stderr.read()}")
        url = match.group(1).rstrip("/")
        organiser = scratch / "organiser"
        organiser_token = (scratch / "home" / "organiser.token").read_text().strip()
        nsml(organiser, "login", url, organiser_token)
        nsml(organiser, "admin", "competition", "create", "toy", str(scratch / "data"), "--public", "0.5")
        nsml(organiser, "admin", "phase", "toy", "main", "--start", "now", "--end", "+1d")
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
        errors: list[str] = []
        sent: dict[str, list[int]] = {}
        lock = threading.Lock()
        done = threading.Event()

        def timed(kind: str, call) -> None:
            begin = time.perf_counter()
            try:
                ok = call()
            except (requests.RequestException, ValueError, KeyError) as error:
                ok = False
                with lock:
                    errors.append(f"{kind}: {type(error).__name__}: {error}")
            with lock:
                latencies[kind].append(time.perf_counter() - begin)
                failures[kind] += not ok

        def submit_once(http: requests.Session, team: str) -> bool:
            response = http.post(f"{url}/api/v1/submit", timeout=3600, json={"session": f"{team}/toy/1",
                                                                                "checkpoint": "best"})
            body = response.json()
            if response.status_code != 200 or body.get("rc") != 0:
                with lock:
                    errors.append(f"submit of {team}: HTTP {response.status_code}: {body}")
                return False
            with lock:
                sent.setdefault(team, []).append(body["number"])
            return True

        def submitter(index: int, deadline: float) -> None:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {tokens[index]}"
            while time.perf_counter() < deadline:
                timed("submit", lambda: submit_once(http, f"team{index:02d}"))

        def read_json(http: requests.Session) -> bool:
            response = http.get(f"{url}/api/v1/public/board/toy", timeout=60)
            return response.ok and "rows" in response.json()

        def reader(index: int) -> None:
            http = requests.Session()
            while not done.is_set():
                if index % 2:
                    timed("board html", lambda: http.get(f"{url}/board/toy", timeout=60).ok)
                else:
                    timed("board json", lambda: read_json(http))

        began = time.perf_counter()
        deadline = began + args.seconds
        readers = [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
        for thread in readers:
            thread.start()
        with ThreadPoolExecutor(args.teams) as pool:
            list(pool.map(submitter, range(args.teams), [deadline] * args.teams))
        done.set()
        for thread in readers:
            thread.join()
        elapsed = time.perf_counter() - began
        problems, recorded = check_submissions(url, organiser_token, sent)
        board = requests.get(f"{url}/api/v1/public/board/toy", timeout=60).json()
        told = sum(len(numbers) for numbers in sent.values())
        print(f"{args.teams} submitting clients and {args.readers} board readers for {args.seconds:g} s "
              f"(the last submits finished at {elapsed:.1f} s), {args.workers} scoring worker(s), "
              f"{os.cpu_count()} cores, {'PostgreSQL' if args.database else 'SQLite'}")
        for kind in latencies:
            print(report(kind, latencies[kind], failures[kind]))
        print(f"submissions: {told} accepted, {recorded} recorded, {len(problems)} lost, duplicated or failed; "
              f"board: {len(board['rows'])} teams ranked on {sum(r['submissions'] for r in board['rows'])} "
              f"scored submissions")
        print(json.dumps({kind: {"count": len(v), "p95_ms": round(1000 * percentile(v, 0.95), 1) if v else None}
                          for kind, v in latencies.items()}))
        for problem in (errors + problems)[:20]:
            print(f"problem: {problem}")
        ok = not errors and not problems and recorded == told and told > 0
        print("no error, no lost or duplicated submission" if ok else
              f"FAILED: {len(errors)} errors, {len(problems)} problems", flush=True)
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
