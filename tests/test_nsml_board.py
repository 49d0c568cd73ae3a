"""``nsml board`` against a store filled by real toy sessions: every page's content, live updates, escaping.

The store (``board_support.fill_store``): session 1 trained 3 epochs with a memo holding a ``<script>`` element and
submitted ``best``; session 2 trained 2 epochs with ``--use_attention`` and submitted ``1`` then ``best``. Markup
in the dataset's transcripts makes the first submission's worst utterances (errors / reference characters):
test_03 7/5 (``<b>괜찮습니다</b>`` for 괜찮습니다), test_02 3/4, test_06 5/11; CRR 57.14 over 35 characters.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from board_support import FIRST, MEMO, SECOND, fill_store, running_board
from nsml_support import nsml_cli, wait_for

from nsml import datasets
from nsml.store import Store

pytest.importorskip("flask", reason="nsml board needs Flask (pip install flask)")


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    env = fill_store(tmp_path_factory.mktemp("board"))
    with running_board(env) as running:
        yield running


def rows(html: str, table_class: str) -> list[list[str]]:
    """The text of each body row's cells of the first table with ``table_class``."""
    opening = re.search(rf'<table class="(?:[^"]* )?{table_class}(?: [^"]*)?"[^>]*>', html)
    body = html[opening.end():].split("</table>", 1)[0].split("<tbody>", 1)[1]
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        found.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return found


def figures(html: str) -> dict[str, str]:
    """{chart title: its markup}."""
    return dict(re.findall(r'<figure class="chart">\s*<figcaption>(.*?)</figcaption>(.*?)</figure>', html, re.S))


def test_sessions_page_lists_status_dataset_arguments_summary_and_memo_as_text(board) -> None:
    status, html, headers = board.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    listed = {row[1]: row[2:] for row in rows(html, "sessions")}
    assert listed[FIRST] == ["done", "toy", listed[FIRST][2], "--epochs 3", "epoch=3 eval__cer=0.1111", "CRR 57.14",
                             "&lt;script&gt;alert(&#39;memo&#39;)&lt;/script&gt; first &amp; best"]
    assert listed[SECOND][5] == "CRR 45.71"  # its best of two submissions
    assert listed[SECOND][3:5] == ["--epochs 2 --use_attention", "epoch=2 eval__cer=0.1667"]
    assert "<script>alert" not in html  # the memo is text, never markup
    assert list(listed).index(SECOND) < list(listed).index(FIRST)  # newest first

    state = board.json("/api/sessions")
    memo = {row["name"]: row["memo"] for row in state["sessions"]}
    assert memo[FIRST] == MEMO
    assert {row["name"]: row["summary"] for row in state["sessions"]}[FIRST] == {"epoch": 3, "eval__cer": 1 / 9}
    best = {row["name"]: row["best"] for row in state["sessions"]}[SECOND]
    assert best["submission"] == 2 and best["metric"] == "crr" and round(best["value"], 2) == 45.71

    only = rows(board.page("/?q=use_attention"), "sessions")
    assert [row[1] for row in only] == [SECOND]
    assert "no sessions match these filters" in board.page("/?dataset=nothing")


def test_session_page_shows_curves_checkpoints_log_and_submissions(board) -> None:
    html = board.page(f"/session/{FIRST}")
    charts = figures(html)
    assert {"cer", "loss"} <= set(charts) and "epoch" not in charts  # epochs are marks, not a chart of their own
    loss = charts["loss"]
    assert re.findall(r"<li>.*?</svg>(.*?)</li>", loss) == ["eval/loss", "train/loss"]  # train and eval together
    assert loss.count("<path ") == 2 and loss.count("</circle>") == 6  # a line each, a dot per value
    assert [m for m in re.findall(r'class="mark-label"[^>]*>(.*?)<', loss)] == ["epoch 1", "epoch 2", "epoch 3"]
    assert "<title>eval/loss @ 3: 0.5</title>" in loss

    section = html.split("<h2>Checkpoints</h2>", 1)[1].split("<h2>", 1)[0]
    names = re.findall(r"<tr><td><code>(.*?)</code>", section)
    assert names == ["1", "2", "3", "best"]
    assert "epoch=3 eval__cer=0.1111 eval__loss=0.5" in section
    log = html.split('<pre class="log">', 1)[1].split("</pre>", 1)[0]
    assert log.rstrip().endswith("epoch 3 done")
    assert f'href="/session/{FIRST}/submission/1"' in html and "CRR 57.14" in html
    assert "&lt;script&gt;alert(" in html and "<script>alert" not in html
    assert "resolved arguments (9, defaults included)" in html and "<code>--use_attention</code>" in html

    state = board.json(f"/api/session/{FIRST}")
    assert (state["status"], state["active"], state["reported"]) == ("done", False, 18)
    assert state["latest"]["eval__loss"] == 0.5 and state["checkpoints"] == ["1", "2", "3", "best"]
    assert state["submissions"] == [1]


def test_dataset_board_ranks_each_sessions_best_with_history_and_test_set(board) -> None:
    html = board.page("/dataset/toy")
    fingerprint = datasets.fingerprint(Path(board.env["NSML_HOME"]).parent / "toy_data")
    assert f"Test set <code>{fingerprint}</code> <span class=\"muted\">(current)</span>" in html
    ranked = rows(html, "leaderboard")
    assert [row[:5] for row in ranked] == [["1", FIRST, "best #1", "57.14", "0.4286"],
                                           ["2", SECOND, "best #2", "45.71", "0.5429"]]
    assert [row[7] for row in ranked] == ["1", "2"]  # submissions per session
    history = html.split("every submission, newest first", 1)[1]
    assert re.findall(r"<td class=\"num\">(.*?)</td>", history) == ["45.71", "28.57", "57.14"]
    chart = figures(html)["CRR of every submission"]
    assert chart.count("</circle>") == 3 and "best so far" in chart  # a dot per submission
    datasets_html = board.page("/datasets")
    assert 'href="/dataset/toy"' in datasets_html and f"<code>{fingerprint}</code>" in datasets_html


def test_submission_page_aligns_worst_first_filters_and_shows_markup_as_text(board) -> None:
    html = board.page(f"/session/{FIRST}/submission/1")
    assert "CRR 57.14  CER 0.4286  (6 utterances, edit distance 15 over 35 characters)" in html
    keys = re.findall(r'<code class="key">(.*?)</code>', html)
    assert keys == ["test_03", "test_02", "test_06"]  # worst first: 7/5, 3/4, 5/11
    assert "3 of 6 utterances shown (3 with errors)" in html
    assert "&lt;b&gt;괜찮습니다&lt;/b&gt;" in html and "&lt;i&gt;괜찮아요&lt;/i&gt;" in html
    assert "<b>괜" not in html and "<i>괜" not in html
    first = html.split('<li class="utterance wrong">', 2)[1]
    cells = re.findall(r'<span class="al (\w+)"><span class="r">(.*?)</span><span class="h">(.*?)</span>', first)
    assert cells[:4] == [("ins", "·", "&lt;"), ("ins", "·", "b"), ("ins", "·", "&gt;"), ("equal", "괜", "괜")]
    assert "7 inserted" in first

    everything = board.page(f"/session/{FIRST}/submission/1?show=all&order=test")
    assert re.findall(r'<code class="key">(.*?)</code>', everything) == [f"test_0{i}" for i in range(1, 7)]
    correct = board.page(f"/session/{FIRST}/submission/1?show=correct")
    assert re.findall(r'<code class="key">(.*?)</code>', correct) == ["test_01", "test_04", "test_05"]
    searched = board.page(f"/session/{FIRST}/submission/1?show=all&q=%EA%B0%90%EC%82%AC")  # q=감사
    assert re.findall(r'<code class="key">(.*?)</code>', searched) == ["test_02", "test_05"]


def test_compare_shows_differing_arguments_best_values_and_overlaid_curves(board) -> None:
    html = board.page("/compare?s=tester/toy/%5B12%5D&s=nobody/%2A")  # s=tester/toy/[12], s=nobody/*
    assert "no session matches nobody/*" in html
    assert "common arguments: <code>--mode train --pause 0 " in html
    table = html.split('<table class="compare sortable" id="compare-table">', 1)[1]
    head = re.findall(r"<th>(.*?)</th>", table.split("</thead>", 1)[0])
    assert head[:4] == ["session", "status", "<code>--epochs</code>", "<code>--use_attention</code>"]
    compared = {row[0]: row[1:] for row in rows(html, "compare")}
    assert compared[FIRST][:3] == ["done", "3", "no"] and compared[SECOND][:3] == ["done", "2", "yes"]
    assert compared[FIRST][-1] == "CRR 57.14" and compared[SECOND][-1] == "CRR 45.71"
    legend = re.findall(r"<li>.*?</svg>(.*?)</li>", figures(html)["loss"])
    assert legend == [f"{FIRST} eval/loss", f"{FIRST} train/loss", f"{SECOND} eval/loss", f"{SECOND} train/loss"]


def test_unknown_names_are_404_pages_and_the_board_never_writes(board) -> None:
    home = Path(board.env["NSML_HOME"])

    def fingerprint() -> list[str]:
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(home.glob("nsml.sqlite*"))]

    before = fingerprint()
    status, html, _ = board.get("/session/tester/toy/99")
    assert status == 404 and "no session tester/toy/99" in html
    assert board.get(f"/session/{FIRST}/submission/9")[0] == 404
    assert board.get("/dataset/nothing")[0] == 404
    for path in ("/", f"/session/{SECOND}", "/dataset/toy", f"/session/{SECOND}/submission/2", "/datasets",
                 "/compare?s=tester/*", "/api/sessions", f"/api/session/{SECOND}", "/sessions/live"):
        board.page(path)
    assert fingerprint() == before


def test_only_loopback_host_names_are_served_and_a_taken_port_is_one_line(board) -> None:
    request = urllib.request.Request(board.url, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    port = board.url.rstrip("/").rsplit(":", 1)[1]
    taken = nsml_cli(board.env, "board", "--port", port, check=False, timeout=30)
    assert taken.returncode == 2
    assert taken.stderr.startswith(f"nsml: error: cannot listen on 127.0.0.1:{port}: ")
    assert taken.stderr.count("\n") == 1


def _report_into(env: dict[str, str], session: str, monkeypatch: pytest.MonkeyPatch, **values: float) -> None:
    """A real ``nsml.report`` from this process, as the session's own program would make it."""
    import nsml

    monkeypatch.setenv("NSML_HOME", env["NSML_HOME"])
    monkeypatch.setenv("NSML_SESSION", session)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("NSML_PAUSED", raising=False)
    nsml.report(**values)


def test_a_value_reported_now_shows_without_restarting_the_board(board, monkeypatch) -> None:
    before = board.json(f"/api/session/{SECOND}")
    listed = board.json("/api/sessions")
    _report_into(board.env, SECOND, monkeypatch, step=3, eval__wer=0.42)
    after = board.json(f"/api/session/{SECOND}")
    assert after["reported"] == before["reported"] + 1 and after["latest"]["eval__wer"] == 0.42
    assert after["version"] != before["version"]
    fragment = board.get(f"/session/{SECOND}/live")
    assert fragment[2]["X-Board-Version"] == after["version"]
    assert "<title>eval/wer @ 3: 0.42</title>" in figures(fragment[1])["wer"]

    nsml_cli(board.env, "memo", SECOND, "<img src=x onerror=alert(1)> retry")
    relisted = board.json("/api/sessions")
    assert relisted["version"] != listed["version"]
    assert {row["name"]: row["memo"] for row in relisted["sessions"]}[SECOND] == "<img src=x onerror=alert(1)> retry"
    assert "&lt;img src=x onerror=alert(1)&gt; retry" in board.page("/sessions/live")


def test_a_running_session_is_followed_live(board) -> None:
    project = Path(board.env["NSML_HOME"]).parent / "project"
    name = nsml_cli(board.env, "run", "-d", "toy", "-a", "--epochs 3 --epoch_seconds 0.7", "--detach",
                    cwd=project).stdout.strip()
    seen: list[tuple[str, int]] = []

    def ended() -> bool:
        state = board.json(f"/api/session/{name}")
        seen.append((state["status"], state["reported"]))
        return not state["active"]

    wait_for(ended, timeout=60, what=f"{name} to end")
    assert any(status == "running" for status, _ in seen)
    counts = [reported for _, reported in seen]
    assert counts == sorted(counts) and counts[-1] == 18  # 6 values per epoch, arriving while it ran
    assert len(set(counts)) >= 2
    assert seen[-1][0] == "done"
    assert {row["name"]: row["status"] for row in board.json("/api/sessions")["sessions"]}[name] == "done"


def test_a_thousand_sessions_are_paginated_and_fast(tmp_path: Path) -> None:
    from werkzeug.serving import make_server

    from nsml.board.app import create_app

    store = Store(tmp_path / "home" / "nsml.sqlite")
    store.datasets()  # the schema, made by the store itself
    sessions, metrics, counts = [], [], {"toy": 0, "other": 0}
    for index in range(1000):  # in one transaction: a thousand nsml runs would take an hour
        dataset = "toy" if index % 2 else "other"
        counts[dataset] += 1
        name = f"bulk/{dataset}/{counts[dataset]}"
        sessions.append((name, "bulk", dataset, counts[dataset], "main.py", f"--lr {index}", "[]", 0, 1,
                         f"run {index}", "done", 1_700_000_000.0 + index))
        metrics += [(name, step, "eval__loss", 1.0 / (index + step), 1, 1_700_000_000.0 + index) for step in (1, 2)]
    with sqlite3.connect(store.path) as conn:
        conn.executemany("INSERT INTO sessions (name, user, dataset, number, entry, args, extra_args, gpus, nproc, "
                         "memo, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sessions)
        conn.executemany("INSERT INTO metrics (session, step, key, value, summary, wall) VALUES (?, ?, ?, ?, ?, ?)",
                         metrics)
    assert len(store.sessions()) == 1000
    server = make_server("127.0.0.1", 0, create_app(store.path, tmp_path / "home"), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        def get(path: str) -> tuple[float, str]:
            start = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=30) as response:
                return time.perf_counter() - start, response.read().decode()

        get("/")  # templates compiled
        seconds, html = get("/")
        assert seconds < 1.0, f"the first page took {seconds:.2f} s"
        assert "1000 sessions, newest first" in html and "page 1 of 20" in html
        shown = [row[1] for row in rows(html, "sessions")]
        assert shown[:2] == ["bulk/toy/500", "bulk/other/500"] and len(shown) == 50
        last = [row[1] for row in rows(get("/?page=20")[1], "sessions")]
        assert last[-1] == "bulk/other/1" and len(last) == 50
        filtered = get("/?dataset=toy&q=run%2099")[1]  # memos 'run 999', 'run 997', ... 'run 99' on toy
        assert [row[1] for row in rows(filtered, "sessions")] == [f"bulk/toy/{k}" for k in (500, 499, 498, 497,
                                                                                            496, 50)]
        seconds, _ = get("/api/sessions?page=7")
        assert seconds < 1.0
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_test_audio_is_served_only_for_the_datasets_test_list(board) -> None:
    data = Path(board.env["NSML_HOME"]).parent / "toy_data"
    status, body, headers = board.raw("/dataset/toy/audio/test_03.wav")
    assert status == 200 and headers["Content-Type"] == "audio/wav"
    assert body == (data / "test" / "test_data" / "test_03.wav").read_bytes() and body[:4] == b"RIFF"
    status, part, headers = board.raw("/dataset/toy/audio/test_03.wav", {"Range": "bytes=0-11"})
    assert status == 206 and part == body[:12]  # what an <audio> element asks for while seeking
    assert "media-src 'self'" in board.get("/")[2]["Content-Security-Policy"]
    assert (data / "train" / "train_data" / "train_01.wav").is_file()
    for refused in ("/dataset/toy/audio/train_01.wav",  # a wav of the dataset, but not of its test set
                    "/dataset/toy/audio/..%2F..%2Ftrain%2Ftrain_data%2Ftrain_01.wav",
                    "/dataset/toy/audio/../../train/train_data/train_01.wav",
                    "/dataset/toy/audio/%2Fetc%2Fpasswd.wav", "/dataset/toy/audio/..%2Ftest_label.wav",
                    "/dataset/nothing/audio/test_03.wav", "/dataset/toy/audio/test_99.wav"):
        status, body, _ = board.raw(refused)
        assert status == 404, f"{refused} -> {status}"
        assert b"RIFF" not in body
    html = board.page(f"/session/{FIRST}/submission/1?show=all&order=test")
    players = re.findall(r'<audio class="play" controls preload="none" src="([^"]+)"', html)
    assert players == [f"/dataset/toy/audio/test_0{i}.wav" for i in range(1, 7)]


def test_test_list_lines_leading_out_of_test_data_are_never_played(tmp_path: Path) -> None:
    from board_support import make_markup_dataset

    from nsml.board.audio import test_wavs

    root = make_markup_dataset(tmp_path / "data")
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF secret")
    (root / "test" / "test_data" / "linked.wav").symlink_to(secret)
    listed = root / "test" / "test_data" / "test_list.csv"
    listed.write_text(listed.read_text() + "../../train/train_data/train_01.wav\nlinked.wav\nmissing.wav\n")
    assert sorted(test_wavs(root)) == [f"test_0{i}" for i in range(1, 7)]
    assert test_wavs(tmp_path / "nowhere") == {}


def test_csv_downloads_of_a_submissions_utterances_and_a_sessions_metrics(board) -> None:
    import csv
    import io

    status, body, headers = board.get(f"/session/{FIRST}/submission/1/utterances.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="tester-toy-1-submission-1.csv"'
    table = list(csv.DictReader(io.StringIO(body)))
    assert [row["key"] for row in table] == [f"test_0{i}" for i in range(1, 7)]
    third = table[2]
    assert (third["reference"], third["hypothesis"]) == ("괜찮습니다", "<b>괜찮습니다</b>")
    assert (third["errors"], third["size"]) == ("7", "5")
    assert float(third["error_rate"]) == 1.4
    assert sum(float(row["errors"]) for row in table) == 15 and sum(float(row["size"]) for row in table) == 35
    assert 'utterances.csv" download>' in board.page(f"/session/{FIRST}/submission/1")

    state = board.json(f"/api/session/{FIRST}")
    status, body, headers = board.get(f"/session/{FIRST}/metrics.csv")
    assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="tester-toy-1-metrics.csv"'
    values = list(csv.DictReader(io.StringIO(body)))
    assert len(values) == state["reported"] == 3 * 6
    assert values[0]["step"] == "1" and values[0]["summary"] == "0"
    assert {(row["key"], float(row["value"])) for row in values if row["step"] == "3"} >= {("train__loss", 1 / 3),
                                                                                          ("epoch", 3.0)}
    assert all(float(row["seconds_since_start"]) >= 0 for row in values)
    assert board.get("/session/tester/toy/99/metrics.csv")[0] == 404
    assert board.get(f"/session/{FIRST}/submission/9/utterances.csv")[0] == 404


def test_csv_cells_a_spreadsheet_would_run_are_text() -> None:
    import csv
    import io

    from nsml.board.downloads import utterances_csv
    from nsml.entities import ScoredUtterance

    hostile = ScoredUtterance(submission=1, position=0, key="@SUM(A1)", reference='=HYPERLINK("http://x","a, b")',
                              hypothesis="+1\n-2", errors=2.0, size=4.0)
    row = list(csv.DictReader(io.StringIO(utterances_csv([hostile]))))[0]
    assert row["key"] == "'@SUM(A1)" and row["reference"] == '\'=HYPERLINK("http://x","a, b")'
    assert row["hypothesis"] == "'+1\n-2" and row["errors"] == "2" and row["error_rate"] == "0.5"


def test_smoothing_follows_tensorboards_debiased_moving_average() -> None:
    from nsml.board.curves import smooth

    assert smooth([(1, 1.0), (2, 2.0), (3, float("nan")), (4, 4.0)], 0.6)[:2] == [(1, 1.0), (2, 1.625)]
    last = smooth([(1, 1.0), (2, 2.0), (3, float("nan")), (4, 4.0)], 0.6)
    assert last[2][0] == 3 and last[2][1] != last[2][1]  # a NaN stays a gap
    assert abs(last[3][1] - (0.6 * 1.04 + 0.4 * 4.0) / (1 - 0.6 ** 3)) < 1e-12
    assert smooth([(1, 3.0), (2, 5.0)], 0.0) == [(1, 3.0), (2, 5.0)]


def test_curves_are_smoothed_zoomed_and_drawn_against_time_on_request(board) -> None:
    plain = figures(board.page(f"/session/{FIRST}"))["loss"]
    assert 'class="raw"' not in plain and plain.count("</circle>") == 6
    smoothed = board.page(f"/session/{FIRST}?smooth=0.6")
    loss = figures(smoothed)["loss"]
    assert loss.count('<path class="raw"') == 2  # train and eval, raw and pale under their smoothed lines
    assert "<title>train/loss @ 2: 0.6875 (raw 0.5)</title>" in loss  # (0.6 * 0.4 * 1 + 0.4 * 0.5) / (1 - 0.36)
    assert 'data-fragment="/session/tester/toy/1/live?smooth=0.6"' in smoothed
    assert 'class="raw"' in board.page(f"/session/{FIRST}/live?smooth=0.6")
    zoomed = figures(board.page(f"/session/{FIRST}?from=2&to=3"))["loss"]
    assert re.findall(r"<title>train/loss @ (\d+)", zoomed) == ["2", "3"]
    assert "whole range" in board.page(f"/session/{FIRST}?from=2&to=3")
    relative = figures(board.page(f"/session/{FIRST}?x=relative"))["loss"]
    assert ">time since the first report</text>" in relative and ">0:00</text>" in relative
    wall = figures(board.page(f"/session/{FIRST}?x=wall"))["loss"]
    assert ">wall clock</text>" in wall and re.search(r">(\d\d-\d\d )?\d\d:\d\d(:\d\d)?</text>", wall)
    odd = board.page(f"/session/{FIRST}?x=%3Cscript%3E&smooth=lots&from=nan")
    assert 'class="raw"' not in odd and ">step</text>" in figures(odd)["loss"] and "<script>" not in odd
    compared = board.page(f"/compare?s={FIRST}&s={SECOND}&smooth=0.5&x=relative")
    assert figures(compared)["loss"].count('<path class="raw"') == 4
    assert '<input type="hidden" name="s" value="tester/toy/1 tester/toy/2">' in compared
