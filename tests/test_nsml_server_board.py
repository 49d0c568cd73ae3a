"""The board served by ``nsml server``, read over real HTTP from a real server: the public competition board, a
browser login with a team's token, each team's own sessions board (nsml board's pages from the team's sandbox) and
submissions, another team's pages refused in one line, the organiser's view of everything, and the private scores
revealed to everyone once the phase has ended."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
import requests

from server_support import competition, needs_sandbox


@pytest.fixture
def served(tmp_path: Path, env: dict[str, str]):
    with competition(tmp_path, env) as (server, _data, users):
        yield server, users


def browser(url: str, token: str | None) -> requests.Session:
    """A browser session, logged in through the login form with ``token`` (or not at all)."""
    http = requests.Session()
    if token is not None:
        done = http.post(f"{url}/login", data={"token": token, "next": "/"}, allow_redirects=False)
        assert done.status_code == 302 and done.headers["Location"] == "/"
        cookie = done.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return http


@needs_sandbox
def test_the_board_over_the_server(served) -> None:
    server, users = served
    organiser, alpha, bravo = users["organiser"], users["alpha"], users["bravo"]
    organiser("admin", "phase", "toy", "main", "--start=-1m", "--end", "+1h")
    (alpha.cwd / ".nsmlignore").write_text("*.pt\n")
    (alpha.cwd / "weights.pt").write_bytes(b"\0" * 100)
    (alpha.cwd / "big.bin").write_bytes(b"\0" * (2 << 20))
    run = alpha("run", "-d", "toy", "-a", "--epochs 3", "-m", "alpha's memo", "--max-file-mib", "1")
    assert "big.bin not copied into the snapshot" in run.stderr  # the local run's warning, from the client
    code = server.home / "teams" / "alpha" / "sessions" / "alpha" / "toy" / "1" / "code"
    assert (code / "main.py").is_file() and not (code / "weights.pt").exists() and not (code / "big.bin").exists()
    bravo("run", "-d", "toy", "-a", "--epochs 1")
    alpha("submit", "alpha/toy/1", "best")
    bravo("submit", "bravo/toy/1", "best")

    # anyone: the competitions and the public board; the rest asks for a login
    anyone = browser(server.url, None)
    assert "toy" in anyone.get(f"{server.url}/").text
    public = anyone.get(f"{server.url}/board/toy")
    assert public.ok and "Public scores" in public.text and "private crr" not in public.text
    assert "default-src 'none'" in public.headers["Content-Security-Policy"]
    for page in ("/teams/alpha/", "/board/toy/submissions"):
        done = anyone.get(server.url + page, allow_redirects=False)
        assert done.status_code == 302 and done.headers["Location"].startswith("/login?next=")
    wrong = anyone.post(f"{server.url}/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "not known to the server" in wrong.text
    assert browser(server.url, None).post(f"{server.url}/login", data={"token": alpha.token, "next": "//evil.example"},
                                          allow_redirects=False).headers["Location"] == "/"

    # a team: its own sessions board, from its sandbox, every link under /teams/alpha/
    team = browser(server.url, alpha.token)
    sessions = team.get(f"{server.url}/teams/alpha/")
    assert sessions.ok and "alpha/toy/1" in sessions.text and "alpha&#39;s memo" in sessions.text
    assert "bravo/toy/1" not in sessions.text
    assert 'href="/teams/alpha/session/alpha/toy/1"' in sessions.text
    assert 'src="/teams/alpha/static/live.js"' in sessions.text
    assert team.get(f"{server.url}/teams/alpha/static/live.js").ok
    page = team.get(f"{server.url}/teams/alpha/session/alpha/toy/1")
    assert page.ok and "epoch 3 done" in page.text
    assert team.get(f"{server.url}/teams/alpha/api/sessions").json()
    assert team.get(f"{server.url}/teams/alpha/session/alpha/toy/1/metrics.csv").text.startswith("step")

    # another team's pages: one line, whatever the path
    for path in ("/teams/bravo/", "/teams/bravo/session/bravo/toy/1", "/board/toy/submissions/bravo/1",
                 "/board/toy/submissions/bravo/1.csv", "/teams"):
        refused = team.get(server.url + path)
        assert refused.status_code == 403, path
        assert "team alpha sees its own" in refused.text or "organisers only" in refused.text
    assert team.get(f"{server.url}/teams/alpha/session/bravo/toy/1").status_code == 404  # not in alpha's store

    # its submissions: public score, private hidden until the end; output and utterances
    mine = team.get(f"{server.url}/board/toy/submissions").text
    assert "alpha/toy/1" in mine and "bravo/toy/1" not in mine
    detail = team.get(f"{server.url}/board/toy/submissions/alpha/1")
    assert detail.ok and "revealed when the phase ends" in detail.text and "loaded epoch" in detail.text
    rows = list(csv.DictReader(io.StringIO(team.get(f"{server.url}/board/toy/submissions/alpha/1.csv").text)))
    assert rows and {row["part"] for row in rows} == {"public"}

    # the organiser: every team, and the private scores before the end
    boss = browser(server.url, organiser.token)
    view = boss.get(f"{server.url}/board/toy").text
    assert "Organiser's view" in view and "private crr" in view
    assert "alpha" in boss.get(f"{server.url}/teams").text
    assert "bravo/toy/1" in boss.get(f"{server.url}/teams/bravo/").text
    every = boss.get(f"{server.url}/board/toy/submissions").text
    assert "alpha/toy/1" in every and "bravo/toy/1" in every
    assert {r["part"] for r in csv.DictReader(io.StringIO(
        boss.get(f"{server.url}/board/toy/submissions/bravo/1.csv").text))} == {"public", "private"}

    # the end: the final ranking on private scores, for everyone
    organiser("admin", "phase", "toy", "main", "--start=-1h", "--end", "now")
    time.sleep(1)
    final = anyone.get(f"{server.url}/board/toy").text
    assert "Final ranking" in final and "private crr" in final and "final selection" in final
    assert "revealed when the phase ends" not in team.get(f"{server.url}/board/toy/submissions/alpha/1").text
