"""Synthetic Korean speech corpus in the 2019 NAVER hackathon layout, made from sentences we wrote ourselves.

NAVER's recordings may not be redistributed, so the repository ships this stand-in: ``sentences_ko.txt``,
spoken by espeak-ng voice variants (``synthesize``), planned by a seed (``plan``), written to disk by
``python -m corpus.make_dataset``, with its label table from ``python -m corpus.build_labels``.
"""

from corpus.korean_text import load_sentences
from corpus.plan import Utterance, plan_dataset
from corpus.synthesize import SynthesisError, synthesize

__all__ = ["SynthesisError", "Utterance", "load_sentences", "plan_dataset", "synthesize"]
