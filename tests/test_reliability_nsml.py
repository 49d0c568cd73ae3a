"""The platform's containment and guard rails, on real sessions: links that lead out of $NSML_HOME are refused,
the code snapshot leaves out huge and special files, a submit keeps its scratch in the session and kills every
process it started (daemons too), --keep_going turns a raising infer into a scored empty prediction, and
``dataset check`` / ``dataset add`` report a corrupted dataset."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from corrupt_support import AUDIO_CASES
from nsml_support import TOY_ENTRY, make_dataset, nsml_cli, wait_for

from nsml import checkpoints, scratch
from nsml.procs import pid_alive

SESSION = "tester/toy/1"

# A hackathon-style entry whose infer can raise on one file, sleep, or start a daemon that detaches itself
# (double fork + setsid, so it is in neither the submit's process tree nor its process group).
ENTRY = '''
import argparse, os, subprocess, sys, time
import nsml

DAEMON = ("import os, sys, time\\n"
          "if os.fork(): os._exit(0)\\n"
          "os.setsid()\\n"
          "if os.fork(): os._exit(0)\\n"
          "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid())); os.replace(sys.argv[1] + '.tmp', sys.argv[1])\\n"
          "time.sleep(600)\\n")

parser = argparse.ArgumentParser()
parser.add_argument("--mode", default="train")
parser.add_argument("--pause", type=int, default=0)
parser.add_argument("--break_on", default="")
parser.add_argument("--daemon", default="")
parser.add_argument("--infer_seconds", type=float, default=0.0)
args = parser.parse_args()


def save(path):
    with open(os.path.join(path, "model.txt"), "w") as f:
        f.write("toy")


def load(path):
    pass


def infer(path):
    if args.daemon and not os.path.exists(args.daemon):
        subprocess.run([sys.executable, "-c", DAEMON, args.daemon], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not os.path.exists(args.daemon):
            time.sleep(0.01)
    time.sleep(args.infer_seconds)
    if os.path.basename(path) == args.break_on:
        raise ValueError("toy infer is broken on " + os.path.basename(path))
    return "안녕하세요"


nsml.bind(save=save, load=load, infer=infer)
if args.pause == 1:
    nsml.paused(scope=locals())
if args.mode == "train":
    nsml.save("best")
'''


@pytest.fixture
def guarded(tmp_path: Path, env: dict[str, str], dataset: Path) -> Path:
    code = tmp_path / "guarded"
    code.mkdir()
    (code / "main.py").write_text(ENTRY, encoding="utf-8")
    nsml_cli(env, "dataset", "add", "toy", str(dataset), cwd=code)
    return code


def session_dir(env: dict[str, str], name: str = SESSION) -> Path:
    return Path(env["NSML_HOME"]) / "sessions" / name


def pid_in(path: Path) -> int:
    wait_for(path.exists, what=f"the daemon's pid file {path}")
    return int(path.read_text())


def test_a_daemon_started_by_infer_is_killed_when_the_submit_ends(env, guarded, tmp_path) -> None:
    pid_file = tmp_path / "daemon.pid"
    nsml_cli(env, "run", "-d", "toy", "-a", f"--daemon {pid_file}", cwd=guarded)
    done = nsml_cli(env, "submit", SESSION, "best")
    assert "recorded on the board" in done.stdout
    assert not pid_alive(pid_in(pid_file))  # killed before submit returned


def test_submit_timeout_kills_the_detached_daemon_too(env, guarded, tmp_path) -> None:
    pid_file = tmp_path / "daemon.pid"
    nsml_cli(env, "run", "-d", "toy", "-a", f"--daemon {pid_file} --infer_seconds 30", cwd=guarded)
    timed_out = nsml_cli(env, "submit", "--timeout", "3", SESSION, "best", check=False)
    assert timed_out.returncode == 1 and "no predictions within 3 s" in timed_out.stderr
    assert not pid_alive(pid_in(pid_file))
    assert list((session_dir(env) / scratch.SCRATCH).iterdir()) == []  # the scratch went with the submit


def test_a_killed_submit_leaves_scratch_only_until_the_next_command(env, guarded, tmp_path) -> None:
    pid_file = tmp_path / "daemon.pid"
    env = dict(env, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    nsml_cli(env, "run", "-d", "toy", "-a", f"--daemon {pid_file} --infer_seconds 30", cwd=guarded)
    submit = subprocess.Popen([sys.executable, "-m", "nsml", "submit", SESSION, "best"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemon = pid_in(pid_file)  # infer is running: the scratch folder exists
    leftovers = list((session_dir(env) / scratch.SCRATCH).iterdir())
    assert [p.name.split(".")[0] for p in leftovers] == [str(submit.pid)]
    submit.send_signal(signal.SIGKILL)
    submit.wait()
    assert leftovers[0].is_dir() and pid_alive(daemon)  # nothing could clean up after a SIGKILL
    assert list((tmp_path / "tmp").iterdir()) == []  # and nothing was ever put in the temp folder

    nsml_cli(env, "dataset", "ls")  # any next command
    assert not leftovers[0].exists()
    wait_for(lambda: not pid_alive(daemon), timeout=5, what="the daemon of the killed submit to be killed")
    assert "has no submissions yet" in nsml_cli(env, "submit", "ls", SESSION).stderr  # nothing was recorded


def test_keep_going_scores_a_raising_infer_as_an_empty_prediction(env, guarded) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--break_on test_02.wav", cwd=guarded)
    strict = nsml_cli(env, "submit", SESSION, "best", check=False)
    assert strict.returncode == 1 and "your infer(" in strict.stderr  # the default stays strict

    kept = nsml_cli(env, "submit", "--keep_going", SESSION, "best")
    errors = session_dir(env) / "submissions" / "1" / "infer_errors.log"
    assert f"1 test files made infer raise and were scored as empty predictions (--keep_going); their " \
           f"tracebacks: {errors}" in kept.stdout
    log = errors.read_text(encoding="utf-8")
    assert log.startswith("### infer(") and "test_02.wav') raised:" in log
    assert "ValueError: toy infer is broken on test_02.wav" in log and 'main.py", line' in log
    predictions = (session_dir(env) / "submissions" / "1" / "predictions.csv").read_text(encoding="utf-8")
    assert "test_02.wav,\n" in predictions and predictions.count("안녕하세요") == 5
    shown = nsml_cli(env, "submit", "show", SESSION, "1").stdout
    assert "test_02  errors 4/4 (4 deleted)" in shown  # scored: every reference character missing

    quick = nsml_cli(env, "submit", "-t", "--keep_going", SESSION, "best")
    assert "their tracebacks (above)" in quick.stdout and "toy infer is broken" in quick.stderr


@pytest.fixture
def trained(env, project) -> Path:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=project)
    return session_dir(env) / "checkpoints"


def test_submit_ls_of_a_session_without_submissions_lists_nothing(env, trained) -> None:
    empty = nsml_cli(env, "submit", "ls", SESSION)
    assert empty.stdout == ""
    assert empty.stderr == (f"nsml: {SESSION} has no submissions yet (nsml submit {SESSION} CHECKPOINT makes one; "
                            f"nsml model ls {SESSION} lists its checkpoints)\n")
    assert nsml_cli(env, "submit", "ls", SESSION, "--json").stdout == "[]\n"
    unknown = nsml_cli(env, "submit", "ls", "tester/toy/9", check=False)
    assert unknown.returncode == 2
    assert unknown.stderr == f"nsml: error: no session 'tester/toy/9'; sessions: {SESSION}\n"


def _damage(store: Path, how: str) -> None:
    if how == "random bytes":
        store.write_bytes(os.urandom(5000))
    elif how == "text":
        store.write_text("sessions, not a database\n")
    elif how == "truncated":  # the first two of its pages: the table list names pages that are gone
        with open(store, "r+b") as f:
            f.truncate(8192)
    elif how == "another program's":
        store.unlink()
        db = sqlite3.connect(store, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")  # as nsml opens every store: the header stays as it is
        db.execute("CREATE TABLE notes (text)")
        db.execute("PRAGMA user_version=2")
        db.close()


@pytest.mark.parametrize("how, problem", [("random bytes", "is damaged (file is not a database)"),
                                          ("text", "is damaged (file is not a database)"),
                                          ("truncated", "is damaged (database disk image is malformed)"),
                                          ("another program's", "is an SQLite database but not nsml's store")])
def test_a_damaged_store_is_named_with_the_way_out_and_kept(env, dataset, how, problem) -> None:
    nsml_cli(env, "dataset", "add", "toy", str(dataset))
    store = Path(env["NSML_HOME"]) / "nsml.sqlite"
    _damage(store, how)
    damaged = store.read_bytes()
    for verb in (["ps"], ["dataset", "ls"], ["model", "ls", SESSION], ["submit", "ls", SESSION], ["board"]):
        refused = nsml_cli(env, *verb, check=False)
        assert refused.returncode == 2 and refused.stdout == "", (verb, refused.stderr)
        assert refused.stderr.startswith(f"nsml: error: {store} {problem}") and len(refused.stderr.splitlines()) == 1
        assert store.read_bytes() == damaged  # nothing written over what may still be recovered
    advice = refused.stderr.split("move it aside (", 1)[1].split(")", 1)[0]
    subprocess.run(["bash", "-c", advice], check=True)  # the way out it names works as written
    assert (store.parent / "damaged" / "nsml.sqlite").read_bytes() == damaged
    assert "toy" not in nsml_cli(env, "dataset", "ls").stdout  # an empty store, the damaged one kept aside


def test_a_home_that_is_a_file_is_named(env, tmp_path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    for home in (notes, notes / "nsml"):
        for verb in (["ps"], ["dataset", "ls"], ["board"], ["dataset", "check", str(tmp_path)]):
            refused = nsml_cli(dict(env, NSML_HOME=str(home)), *verb, check=False)
            assert refused.returncode == 2, (verb, refused.stderr)
            assert refused.stderr == f"nsml: error: NSML_HOME={home} is not a folder ({notes} is a file): set " \
                                     f"NSML_HOME to a folder (it is made if missing), or unset it to use ~/.nsml\n"
    assert notes.read_text() == "mine\n"


@pytest.mark.parametrize("args, message", [
    (["board", "--port", "99999"], "argument --port: a port is 1-65535 (or 0: any free port), got 99999"),
    (["board", "--port", "-1"], "argument --port: a port is 1-65535 (or 0: any free port), got -1"),
    (["dataset", "check", "DATA", "--max_duration", "-1"],
     "argument --max_duration: must be a positive number of seconds, got -1 (leave the flag out to not check "
     "durations)"),
    (["dataset", "check", "DATA", "--max_duration", "0"],
     "argument --max_duration: must be a positive number of seconds, got 0 (leave the flag out to not check "
     "durations)"),
    (["dataset", "check", "DATA", "--max_duration", "nan"], "must be a positive number of seconds, got nan")])
def test_a_flag_out_of_its_range_is_refused_when_parsed(env, dataset, args, message) -> None:
    refused = nsml_cli(env, *[str(dataset) if arg == "DATA" else arg for arg in args], check=False, timeout=20)
    assert refused.returncode == 2 and refused.stdout == "", refused.stderr
    last = refused.stderr.splitlines()[-1]
    assert last.startswith(f"nsml {args[0]}") and message in last and "Traceback" not in refused.stderr


def test_a_checkpoint_link_leading_out_of_the_home_is_never_followed(env, trained, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (trained / "evil").symlink_to(outside)

    for verb in (["model", "rm", SESSION, "evil"], ["model", "pull", SESSION, "evil", str(tmp_path / "pulled")],
                 ["submit", SESSION, "evil"], ["fork", SESSION, "evil"]):
        refused = nsml_cli(env, *verb, check=False)
        assert refused.returncode == 1, verb
        assert "checkpoint 'evil' of" in refused.stderr and "leads outside" in refused.stderr, refused.stderr
    assert (outside / "precious.txt").read_text() == "keep me" and not (tmp_path / "pulled").exists()
    listed = nsml_cli(env, "model", "ls", SESSION)
    assert "warning: checkpoint 'evil'" in listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["1", "best"]
    nsml_cli(env, "model", "rm", SESSION, "1")  # an ordinary checkpoint still goes
    assert not (trained / "1").exists() and (outside / "precious.txt").exists()


def test_sweeping_never_follows_a_planted_link(env, trained, tmp_path) -> None:
    outside = tmp_path / "outside"
    (outside / "version.1.1").mkdir(parents=True)
    (outside / "version.1.1" / "precious.txt").write_text("keep me")
    pending = trained / checkpoints.PENDING
    if pending.exists():
        pending.rmdir()
    pending.symlink_to(outside)
    checkpoints.sweep(trained)  # what a session's end, ps and every save run
    assert (outside / "version.1.1" / "precious.txt").read_text() == "keep me"


def test_a_session_folder_that_leads_out_is_not_removed(env, trained, tmp_path) -> None:
    real = session_dir(env)
    moved = tmp_path / "elsewhere"
    real.rename(moved)
    real.symlink_to(moved)
    refused = nsml_cli(env, "rm", SESSION, check=False)
    assert refused.returncode == 1 and "leads outside" in refused.stderr
    assert (moved / "checkpoints").is_dir() and SESSION in nsml_cli(env, "ps").stdout


def test_the_snapshot_leaves_out_huge_and_special_files_and_says_so(env, tmp_path, dataset) -> None:
    code = tmp_path / "project"
    code.mkdir()
    (code / "main.py").write_text(TOY_ENTRY, encoding="utf-8")
    with open(code / "sparse.bin", "wb") as f:
        f.truncate(2 << 30)  # 2 GiB that take no disk space
    with open(code / "ignored.bin", "wb") as f:
        f.truncate(1 << 30)
    (code / ".nsmlignore").write_text("ignored.bin\n")
    os.mkfifo(code / "pipe")
    nsml_cli(env, "dataset", "add", "toy", str(dataset))
    run = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", cwd=code, timeout=60)
    assert "warning: sparse.bin not copied into the snapshot: 2048.0 MiB, over the 50 MiB limit" in run.stderr
    assert "warning: pipe not copied into the snapshot: not a regular file" in run.stderr
    assert "ignored.bin" not in run.stderr  # .nsmlignore still rules, silently
    copied = sorted(p.name for p in (session_dir(env) / "code").iterdir())
    assert copied == [".nsmlignore", "main.py"]
    bigger = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1", "--max-file-mib", "4096", cwd=code, timeout=120)
    assert "sparse.bin" not in bigger.stderr and (session_dir(env, "tester/toy/2") / "code" / "sparse.bin").exists()


def _corrupt(root: Path) -> Path:
    make_dataset(root)
    data = root / "train" / "train_data"
    (data / "train_02.wav").unlink()
    AUDIO_CASES[9].make(data / "train_02.wav")  # NaN samples
    (data / "train_03.wav").unlink()
    os.mkfifo(data / "train_03.wav")
    return root


def test_dataset_check_and_add_report_every_problem(env, tmp_path) -> None:
    root = _corrupt(tmp_path / "bad")
    checked = nsml_cli(env, "dataset", "check", str(root), check=False)
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[0].startswith(f"checked {root} (train and test): 9 listed utterances")
    assert "error: NaN or infinite samples: 1" in lines
    assert f"  {root}/train/train_data/data_list.csv:2: train_02.wav: 10 samples are NaN or infinite " \
           f"(first at 0.25 s)" in lines
    assert "error: not a regular file: 1" in lines and lines[-1] == "result: 2 errors (2 kinds)"
    refused = nsml_cli(env, "dataset", "add", "bad", str(root), check=False)
    assert refused.returncode == 1 and "not registered" in refused.stderr and "error: NaN" in refused.stderr
    assert "bad" not in nsml_cli(env, "dataset", "ls").stdout
    nsml_cli(env, "dataset", "add", "bad", str(root), "--allow-bad-samples")
    again = nsml_cli(env, "dataset", "check", "bad", check=False)
    assert "(8 known from the cache)" in again.stdout.splitlines()[0]  # the FIFO is never cached: never opened
    with sqlite3.connect(Path(env["NSML_HOME"]) / "audio-checks.sqlite") as db:
        assert db.execute("SELECT count(*) FROM facts").fetchone()[0] == 8
