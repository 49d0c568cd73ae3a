"""What the platform tells user code about its run, read once from the environment when ``nsml`` is imported.

``nsml run``, ``submit`` and ``fork`` set these variables for the user's process; a plain ``python main.py`` sees
none of them (or only those set by hand), so 2019 code that branches on ``HAS_DATASET`` keeps working unchanged.
The dataset owners' loaders imported ``nsml.constants.DATASET_PATH``, hence this module name.
"""

from __future__ import annotations

import os

# The environment contract between the platform and the user's process.
ENV_DATASET_PATH = "NSML_DATASET_PATH"  # dataset root: the folder holding train/ and test/
ENV_DATASET_NAME = "NSML_DATASET_NAME"
ENV_GPU_NUM = "NSML_GPU_NUM"
ENV_SESSION = "NSML_SESSION"  # USER/DATASET/N; set only inside a session
ENV_HOME = "NSML_HOME"  # where sessions, checkpoints and the database live
ENV_USER = "NSML_USER"
ENV_CHECKPOINT_DIR = "NSML_CHECKPOINT_DIR"  # checkpoint root outside a session
ENV_PAUSED = "NSML_PAUSED"  # "fork" or "submit": how nsml.paused() hands control back ("check": see below)
PAUSED_LOAD_CHECK = "check"  # nsml fork's check that the entry, with the fork's -a, loads the checkpoint: then exit
LOAD_CHECK_FAILED = "nsml: load check: "  # starts the one line paused() writes when that load raised
ENV_PAUSED_CHECKPOINT = "NSML_PAUSED_CHECKPOINT"  # the checkpoint folder paused() loads
ENV_SUBMIT_OUTPUT = "NSML_SUBMIT_OUTPUT"  # where a submit writes its predictions
ENV_SUBMIT_LIMIT = "NSML_SUBMIT_LIMIT"  # first N test files only; 0 or unset: all
ENV_CPU_NUM = "NSML_CPU_NUM"
ENV_SUBMIT_ID = "NSML_SUBMIT_ID"  # marks every process of one submit, so those it leaves behind can be found
ENV_SUBMIT_KEEP_GOING = "NSML_SUBMIT_KEEP_GOING"  # "1": a file whose infer raises is predicted as ""
ENV_SUBMIT_ERRORS = "NSML_SUBMIT_ERRORS"  # where a keep-going submit writes the tracebacks of those files
SUBMIT_FAILURE_HEADER = "### infer("  # starts each traceback block of that file: "### infer('a.wav') raised:"

DATASET_PATH: str | None = os.environ.get(ENV_DATASET_PATH) or None
DATASET_NAME: str | None = os.environ.get(ENV_DATASET_NAME) or None
HAS_DATASET: bool = DATASET_PATH is not None
GPU_NUM: int = int(os.environ.get(ENV_GPU_NUM) or 0)
SESSION_NAME: str | None = os.environ.get(ENV_SESSION) or None
IS_ON_NSML: bool = SESSION_NAME is not None
