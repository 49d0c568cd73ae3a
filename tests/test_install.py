"""Installation: the dependencies 2019 code imports, and install.sh's choice of environment (PEP 668-proof)."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from install_support import ROOT, clean_env, failing_python, fake_virtualenv, run_install_function

DEPENDENCIES_2019 = {"wavio": "wavio", "python-Levenshtein": "Levenshtein", "konlpy": "konlpy",
                     "num2words": "num2words"}


def install_requires() -> list[str]:
    """``install_requires`` as setup.py states it (read from its source: no build step needed)."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(item) for item in node.value.elts]
    raise AssertionError("setup.py has no install_requires")


def test_setup_requires_what_2019_code_and_the_corpus_tools_import():
    assert set(DEPENDENCIES_2019) <= set(install_requires())


def test_the_2019_loader_reads_a_real_wav_with_wavio(tmp_path):
    import Levenshtein
    import wavio

    samples = (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16)
    sf.write(tmp_path / "a.wav", samples, 16000, subtype="PCM_16")
    wav = wavio.read(str(tmp_path / "a.wav"))  # what the 2019 baseline's loader.py did
    assert (wav.rate, wav.sampwidth, wav.data.shape) == (16000, 2, (1600, 1))
    assert np.array_equal(wav.data[:, 0], samples)
    assert Levenshtein.distance("안녕하세요", "안녕하셔요") == 1


def test_an_active_virtualenv_is_used_as_it_is(tmp_path):
    venv = fake_virtualenv(tmp_path / "active")
    done = run_install_function("kit_choose_python", clean_env(VIRTUAL_ENV=str(venv), KIT_VENV=str(tmp_path / "v")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{venv}/bin/python" and not (tmp_path / "v").exists()


def test_an_active_virtualenv_without_python_is_one_message(tmp_path):
    done = run_install_function("kit_choose_python", clean_env(VIRTUAL_ENV=str(tmp_path / "gone")))
    assert done.returncode == 1 and done.stdout == ""
    assert "has no bin/python" in done.stderr


def test_without_one_the_project_venv_is_created_then_reused(tmp_path):
    venv = tmp_path / "venv"
    env = clean_env(KIT_VENV=str(venv), PYTHON=sys.executable)
    done = run_install_function("kit_choose_python", env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{venv}/bin/python" and "creating the virtualenv" in done.stderr
    check = subprocess.run([f"{venv}/bin/python", "-c", "import sys, pip; print(sys.prefix)"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == str(venv)
    # It sees the base interpreter's packages, so what the machine already has is not installed twice.
    assert "include-system-site-packages = true" in (venv / "pyvenv.cfg").read_text()
    again = run_install_function("kit_choose_python", clean_env(KIT_VENV=str(venv), PYTHON="/nonexistent/python"))
    assert again.returncode == 0 and again.stdout.strip() == f"{venv}/bin/python" and again.stderr == ""


def test_a_python_without_the_venv_module_names_the_debian_package(tmp_path):
    env = clean_env(KIT_VENV=str(tmp_path / "venv"), PYTHON=str(failing_python(tmp_path / "bin")))
    done = run_install_function("kit_choose_python", env)
    assert done.returncode == 1 and done.stdout == ""
    assert "apt-get install python3-venv" in done.stderr and not (tmp_path / "venv").exists()


def test_a_folder_in_the_way_is_never_deleted(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "notes.txt").write_text("mine\n")
    done = run_install_function("kit_choose_python", clean_env(KIT_VENV=str(venv), PYTHON=sys.executable))
    assert done.returncode == 1 and "is not a virtualenv" in done.stderr
    assert (venv / "notes.txt").read_text() == "mine\n"


def test_a_sourcing_script_stops_when_no_environment_can_be_made(tmp_path):
    """test.sh/run.sh source install.sh under set -e: a failed choice must stop them, not run pytest anyway."""
    env = clean_env(KIT_VENV=str(tmp_path / "venv"), PYTHON=str(failing_python(tmp_path / "bin")))
    script = f'set -euo pipefail\nsource "{ROOT}/scripts/install.sh"\necho "went on"\n'
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "went on" not in done.stdout
    assert "apt-get install python3-venv" in done.stderr


@pytest.mark.parametrize("caller", ["", "set -e", "set -u", "set -o pipefail", "set -euo pipefail"])
def test_sourcing_gives_the_caller_its_shell_options_back(tmp_path, caller):
    """install.sh runs under set -euo pipefail; a shell that sourced it keeps its own options (read without a
    subshell: $(set +o) would not report errexit)."""
    script = (f'{caller or ":"}\nset +o > "{tmp_path}/before"; echo "$-" >> "{tmp_path}/before"\n'
              f'KIT_INSTALL_FUNCTIONS_ONLY=1 source "{ROOT}/scripts/install.sh"\n'
              f'set +o > "{tmp_path}/after"; echo "$-" >> "{tmp_path}/after"\ntype kit_choose_python >/dev/null\n')
    done = subprocess.run(["bash", "-c", script], env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "after").read_text() == (tmp_path / "before").read_text()


def test_a_failed_install_returns_its_status_to_a_shell_that_goes_on(tmp_path):
    env = clean_env(KIT_VENV=str(tmp_path / "venv"), PYTHON=str(failing_python(tmp_path / "bin")))
    script = f'source "{ROOT}/scripts/install.sh"\necho "status $? options $-"\n'
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "status 1 options " in done.stdout
    assert not {"e", "u"} & set(done.stdout.split()[-1])


@pytest.mark.slow
def test_a_fresh_virtualenv_gets_everything_from_install_sh(tmp_path):
    """The real install into an empty venv (no system packages visible): torch, the kit, the 2019 imports."""
    venv = tmp_path / "venv"
    env = clean_env(KIT_VENV=str(venv), PYTHON=sys.executable, KIT_VENV_SYSTEM_SITE="0", TORCH_INDEX_URL="")
    done = run_install_function("kit_install && echo \"PYTHON=$PYTHON\"", env, timeout=900)
    assert done.returncode == 0, done.stderr
    assert f"PYTHON={venv}/bin/python" in done.stdout
    modules = ", ".join(["torch", "nsml.cli", *DEPENDENCIES_2019.values()])
    check = subprocess.run([f"{venv}/bin/python", "-c", f"import {modules}; print(torch.__version__)"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "2.13.0+cpu"
