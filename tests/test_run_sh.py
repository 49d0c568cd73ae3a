"""./run.sh stops at the first step that fails and names it, instead of running on into empty results."""

from __future__ import annotations

import subprocess

from install_support import ROOT, clean_env, fake_virtualenv


def run_sh(tmp_path, **settings: str) -> subprocess.CompletedProcess:
    """./run.sh in this interpreter's environment (install.sh finds everything installed) with a private NSML_HOME."""
    env = clean_env(VIRTUAL_ENV=str(fake_virtualenv(tmp_path / "venv")), NSML_HOME=str(tmp_path / "home"),
                    NSML_USER="tester", DATA=str(tmp_path / "data"), TRAIN_UTTERANCES="8", TEST_UTTERANCES="4",
                    **settings)
    return subprocess.run(["bash", str(ROOT / "run.sh")], env=env, capture_output=True, text=True, timeout=300)


def test_a_typo_in_args_stops_before_a_session_exists(tmp_path):
    done = run_sh(tmp_path, ARGS="--use_atention --max_epochs 1")
    assert done.returncode != 0
    assert "unrecognized arguments: --use_atention" in done.stdout + done.stderr  # main.py's own parser's verdict
    assert "did you mean --use_attention" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("run.sh: error: step 'start the training session' failed"), last
    assert "plot" not in done.stderr and "submit" not in done.stderr  # nothing after the failed step ran


def test_a_failing_first_step_is_named_with_its_command(tmp_path):
    (tmp_path / "home").write_text("not a folder\n")  # NSML_HOME that cannot hold a platform: nsml run fails
    done = run_sh(tmp_path)
    assert done.returncode != 0
    assert "run.sh: error: step 'register the corpus' failed (exit status " in done.stderr
    assert "nsml dataset add run_sh" in done.stderr
