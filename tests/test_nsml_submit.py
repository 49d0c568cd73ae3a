"""``nsml submit`` (-t and full) and the dataset board, with exactly known predictions, and broken user code.

The toy learns one training utterance per epoch; checkpoint '1' knows only 안녕하세요 (1600 frames), 'best' (epoch 3)
knows all three lengths. Against the six test references (28 characters) that makes edit distances of 18 and 6.
"""

from __future__ import annotations

from pathlib import Path

from nsml_support import nsml_cli

from nsml.store import Store

SESSION = "tester/toy/1"


def crr(distance: int, length: int) -> str:
    return f"CRR {(1 - distance / length) * 100:.2f}"


def board_rows(env) -> list[list[str]]:
    """The rows of the board's only section (below its test-set heading and the column headings)."""
    lines = nsml_cli(env, "dataset", "board", "toy").stdout.splitlines()
    assert not lines or (lines[0].startswith("test set ") and "" not in lines), lines  # one section at most
    return [line.split() for line in lines[2:]]


def test_submit_scores_exactly_and_records_best_first(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=project)

    quick = nsml_cli(env, "submit", "-t", SESSION, "best")
    assert "loaded epoch 3" in quick.stdout  # -t shows the entry's stdout
    # the first five test files: only test_02 is wrong (감사합니다 for 감사해요: 3 of 24 characters)
    assert crr(3, 24) in quick.stdout and "CRR 87.50" in quick.stdout and "(5 utterances" in quick.stdout
    assert "ref: 감사해요" in quick.stdout and "hyp: 감사합니다" in quick.stdout
    assert board_rows(env) == []  # -t records nothing

    first = nsml_cli(env, "submit", SESSION, "1")
    assert crr(18, 28) in first.stdout and "(6 utterances, edit distance 18 over 28 characters)" in first.stdout
    assert "loaded epoch" not in first.stdout  # a full submit logs the entry's stdout instead
    assert "peak memory" in first.stdout
    best = nsml_cli(env, "submit", SESSION, "best")
    assert crr(6, 28) in best.stdout and "CRR 78.57" in best.stdout
    assert "recorded on the board of toy" in best.stdout

    rows = board_rows(env)
    assert [row[:5] for row in rows] == [["1", SESSION, "best", "78.57", "0.2143"],
                                         ["2", SESSION, "1", "35.71", "0.6429"]]
    assert all(row[5] == "6" for row in rows)


def test_broken_infer_and_load_show_the_users_traceback(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1 --broken infer", cwd=project)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1 --broken load", cwd=project)

    infer = nsml_cli(env, "submit", "tester/toy/1", "best", check=False)
    assert infer.returncode == 1
    assert "nsml: your infer(" in infer.stderr and "test_01.wav') raised:" in infer.stderr
    assert 'main.py", line' in infer.stderr and ", in infer" in infer.stderr
    assert "ValueError: toy infer is broken on test_01.wav" in infer.stderr
    assert infer.stderr.strip().splitlines()[-1] == "nsml: submit failed: your infer() raised (traceback above)"

    load = nsml_cli(env, "submit", "-t", "tester/toy/2", "1", check=False)
    assert load.returncode == 1
    assert "nsml: your load(" in load.stderr and ", in load" in load.stderr
    assert "RuntimeError: toy load is broken" in load.stderr
    assert load.stderr.strip().splitlines()[-1] == "nsml: submit failed: your load() raised (traceback above)"
    assert board_rows(env) == []


def test_submit_timeout_kills_the_entry(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1 --load_seconds 60", cwd=project)
    slow = nsml_cli(env, "submit", "--timeout", "1", SESSION, "best", check=False)
    assert slow.returncode == 1
    assert "no predictions within 1 s; the entry was killed (raise the limit with --timeout)" in slow.stderr
    assert board_rows(env) == []


def test_run_submit_scores_at_the_end_and_compare_lines_up_sessions(env, project) -> None:
    first = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", "--submit", "best", cwd=project)
    assert "CRR 78.57" in first.stdout and "recorded on the board of toy" in first.stdout
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 2 --save_seconds 0", cwd=project)
    refused = nsml_cli(env, "run", "-d", "toy", "--detach", "--submit", "best", cwd=project, check=False)
    assert refused.returncode == 2 and "--submit needs a foreground run" in refused.stderr

    lines = nsml_cli(env, "compare", "tester/toy/*").stdout.splitlines()
    # the values the entry used, defaults included: --save_seconds 0 given to one is the other's default
    assert lines[0] == ("common arguments: --mode train --pause 0 --epoch_seconds 0.0 --save_seconds 0.0 "
                        "--load_seconds 0.0 --broken '' --use_attention no --ballast_mb 0")
    header = lines[1].split()
    assert header == ["SESSION", "STATUS", "--epochs", "best", "epoch", "best", "eval__cer", "best", "CRR"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert sorted(rows) == ["tester/toy/1", "tester/toy/2"]  # the refused run made no session
    # summary metrics: epoch is best at its highest, eval__cer (1 / (3 * epoch)) at its lowest
    assert rows["tester/toy/1"] == ["done", "3", "3@3", "0.1111@3", "78.57"]
    assert rows["tester/toy/2"] == ["done", "2", "2@2", "0.1667@2", "-"]
    assert nsml_cli(env, "compare", "nobody/*", check=False).returncode == 2


def test_submissions_can_be_reopened_with_the_alignment(env, project) -> None:
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=project)
    first = nsml_cli(env, "submit", SESSION, "1")
    assert "nsml: inferred 6/6 test utterances" in first.stderr  # progress, ETA included while under way
    second = nsml_cli(env, "submit", SESSION, "best").stdout
    assert "as submission 2 of tester/toy/1; every utterance aligned: nsml submit show tester/toy/1 2" in second
    nsml_cli(env, "submit", SESSION, "best")

    listed = nsml_cli(env, "submit", "ls", SESSION).stdout.splitlines()
    assert listed[0].split()[:3] == ["N", "CHECKPOINT", "SCORE"]
    assert [line.split()[:5] for line in listed[1:]] == [["1", "1", "CRR", "35.71", "CER"],
                                                         ["2", "best", "CRR", "78.57", "CER"],
                                                         ["3", "best", "CRR", "78.57", "CER"]]

    shown = nsml_cli(env, "submit", "show", SESSION, "2").stdout
    assert shown.startswith("submission 2 of tester/toy/1: checkpoint 'best', scored by crr on test set ")
    assert "CRR 78.57  CER 0.2143  (6 utterances, edit distance 6 over 28 characters)" in shown
    blocks = shown.split("\n\n")[1:]
    assert len(blocks) == 6  # every utterance, in the order of the test labels
    assert blocks[0].splitlines()[0] == "test_01  errors 0/5 (correct)"
    wrong = blocks[1].splitlines()  # 감사해요 heard as 감사합니다: one insertion, two substitutions
    assert wrong[0] == "test_02  errors 3/4 (2 substituted, 1 inserted)"
    assert wrong[1].split() == ["ref:", "감", "사", "·", "해", "요"]
    assert wrong[2].split() == ["hyp:", "감", "사", "합", "니", "다"]
    assert wrong[3].split() == [".", ".", "I", "S", "S"]

    worst = nsml_cli(env, "submit", "show", SESSION, "1", "--worst", "2").stdout
    assert "the 2 worst of 6 utterances" in worst and worst.count("\n\n") == 2
    assert "errors 5/5 (5 deleted)" in worst  # checkpoint 1 knows no 3200-frame wav: 괜찮습니다 all missing
    missing = nsml_cli(env, "submit", "show", SESSION, "9", check=False)
    assert (missing.returncode, missing.stderr) == (2, "nsml: error: no submission 9 of tester/toy/1; "
                                                       "submissions: 1, 2, 3\n")
    kept = Path(env["NSML_HOME"]) / "sessions" / SESSION / "submissions" / "2" / "predictions.csv"
    assert kept.read_text().splitlines()[1] == "test_02.wav,감사합니다"


def test_peak_memory_is_the_submits_own(env, project) -> None:
    # the training process holds 300 MiB; the submit process that follows it in the same command does not
    run = nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 1 --ballast_mb 300", "--submit", "best", cwd=project)
    assert "recorded on the board of toy" in run.stdout
    submission = Store(Path(env["NSML_HOME"]) / "nsml.sqlite").submissions(session=SESSION)[0]
    assert 1024 < submission.peak_memory_kib < 150 * 1024


SNAPSHOT_EVALUATION = {
    "evaluation/__init__.py": "from evaluation.data_loader import feed_infer\n"
                              "def evaluate(*args, **kwargs):\n    return 100.0\n",
    "evaluation/data_loader.py": "import os\n"
                                 "def feed_infer(output_file, infer_func, *args, **kwargs):\n"
                                 "    open('SNAPSHOT_FEEDER_USED', 'w').close()\n"
                                 "    with open(output_file, 'w') as out:\n"
                                 "        out.write('test_01.wav,엉터리\\n')\n",
}


def test_a_2019_snapshot_with_its_own_evaluation_is_fed_and_scored_by_the_platform(env, project) -> None:
    for relative, source in SNAPSHOT_EVALUATION.items():
        (project / relative).parent.mkdir(exist_ok=True)
        (project / relative).write_text(source, encoding="utf-8")
    entry = project / "main.py"
    entry.write_text("import evaluation  # the snapshot's own, as 2019 entries shipped it\n" + entry.read_text())
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs 3", cwd=project)
    code = Path(env["NSML_HOME"]) / "sessions" / SESSION / "code"
    assert (code / "evaluation" / "data_loader.py").is_file()

    scored = nsml_cli(env, "submit", SESSION, "best")
    assert "CRR 78.57" in scored.stdout and "(6 utterances, edit distance 6 over 28 characters)" in scored.stdout
    assert not (code / "SNAPSHOT_FEEDER_USED").exists()


def test_a_dataset_scored_by_exact_match(env, project, dataset) -> None:
    nsml_cli(env, "dataset", "add", "exact_toy", str(dataset), "--scorer", "exact")
    nsml_cli(env, "run", "-d", "exact_toy", "-a", "--epochs 3", cwd=project)
    scored = nsml_cli(env, "submit", "tester/exact_toy/1", "best")
    # test_02 (감사해요) and test_06 (괜찮아요) are wrong, the other four exactly right
    assert "accuracy 66.67%  (6 utterances, 2 not exactly right)" in scored.stdout
    lines = nsml_cli(env, "dataset", "board", "exact_toy").stdout.splitlines()
    assert lines[0].endswith(", scorer exact, 1 submission(s)")
    assert lines[1].split()[:5] == ["RANK", "SESSION", "CHECKPOINT", "ACCURACY", "WRONG"]
    assert lines[2].split()[:5] == ["1", "tester/exact_toy/1", "best", "66.67", "2"]
