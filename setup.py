"""Installs the hackathon kit: the baseline modules, the local NSML platform (``nsml`` command) and the tools.

Install torch first (``pip install torch==2.13.0`` on CPU machines): an unpinned torch requirement would pull a
multi-GB CUDA build. ``scripts/install.sh`` does it in the right order.
"""

from setuptools import find_packages, setup

setup(
    name="speech-hackathon-kit",
    version="0.1.0",
    description="A working local re-creation of NAVER's 2019 Korean speech hackathon baseline and NSML workflow",
    python_requires=">=3.10",
    packages=find_packages(include=["models", "evaluation", "nsml", "nsml.*", "corpus", "speech_kit", "speech_kit.*",
                                    "entry", "ru_numbers"]),
    package_data={"corpus": ["*.txt"], "nsml.board": ["templates/*.html", "static/*"],
                  "nsml.server": ["templates/*.html"]},
    py_modules=["label_loader", "loader"],
    install_requires=[
        "torch>=2.1",
        "numpy",
        "scipy",
        "soundfile",
        "Levenshtein",
        "tqdm",
        "matplotlib",
        # What 2019 code imports: the original loader.py reads wavs with wavio, its evaluation imports Levenshtein
        # from the python-Levenshtein distribution.
        "wavio",
        "python-Levenshtein",
        # The corpus tools: Korean text processing, and numbers spelled out in words for the Russian data.
        "konlpy",
        "num2words",
        # The WORLD vocoder: speech_kit.synth.augment shifts F0 and formants independently with it.
        "pyworld",
    ],
    extras_require={
        # nsml board (Flask 3.1: TRUSTED_HOSTS) and TensorBoard event files from nsml.report; both optional: without
        # them nsml board says what to install and reports go on without events (one notice).
        "board": ["flask>=3.1", "tensorboard"],
        # nsml server: waitress serves it in production; the nsml client talks to it with requests; psycopg keeps its
        # records in PostgreSQL when NSML_DATABASE_URL names one. The sandbox needs bubblewrap from the system
        # (apt-get install -y bubblewrap).
        "server": ["flask>=3.1", "waitress>=3", "requests", "psycopg[binary]>=3.1"],
        # selenium drives Debian's chromium in the board's browser test (skipped where no chromium is installed).
        "test": ["pytest", "ruff", "flask>=3.1", "tensorboard", "selenium>=4.11", "waitress>=3", "requests",
                 "psycopg[binary]>=3.1"],
    },
    entry_points={"console_scripts": ["nsml = nsml.cli:main"]},
)
