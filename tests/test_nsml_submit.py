"""``nsml submit`` (-t and full) and the dataset board, with exactly known predictions, and broken user code.

The toy learns one training utterance per epoch; checkpoint '1' knows only 안녕하세요 (1600 frames), 'best' (epoch 3)
knows all three lengths. Against the six test references (28 characters) that makes edit distances of 18 and 6.
"""

from __future__ import annotations

from nsml_support import nsml_cli

SESSION = "tester/toy/1"


def crr(distance: int, length: int) -> str:
    return f"CRR {(1 - distance / length) * 100:.2f}"


def board_rows(env) -> list[list[str]]:
    return [line.split() for line in nsml_cli(env, "dataset", "board", "toy").stdout.splitlines()[1:]]


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
    assert refused.returncode == 1 and "--submit needs a foreground run" in refused.stderr

    lines = nsml_cli(env, "compare", "tester/toy/*").stdout.splitlines()
    assert lines[0] == "common arguments: -"
    header = lines[1].split()
    assert header == ["SESSION", "STATUS", "--epochs", "--save_seconds", "best", "epoch", "best", "eval__cer",
                      "best", "CRR"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert sorted(rows) == ["tester/toy/1", "tester/toy/2"]  # the refused run made no session
    # summary metrics: epoch is best at its highest, eval__cer (1 / (3 * epoch)) at its lowest
    assert rows["tester/toy/1"] == ["done", "3", "-", "3@3", "0.1111@3", "78.57"]
    assert rows["tester/toy/2"] == ["done", "2", "0", "2@2", "0.1667@2", "-"]
    assert nsml_cli(env, "compare", "nobody/*", check=False).returncode == 2
