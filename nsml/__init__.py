"""A local NSML: the platform API that 2019 hackathon code imports, backed by the ``nsml`` command's records.

Importing it is cheap (no torch, no matplotlib): the constants come from the environment ``nsml run`` sets.
"""

from nsml.constants import DATASET_NAME, DATASET_PATH, GPU_NUM, HAS_DATASET, IS_ON_NSML, SESSION_NAME
from nsml.runtime import bind, infer, load, paused, report, save

__all__ = ["DATASET_NAME", "DATASET_PATH", "GPU_NUM", "HAS_DATASET", "IS_ON_NSML", "SESSION_NAME",
           "bind", "infer", "load", "paused", "report", "save"]
