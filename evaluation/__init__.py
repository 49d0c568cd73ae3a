"""Scoring as the 2019 leaderboard did it: CER with spaces removed, CRR = (1 - CER) * 100."""

from evaluation.metrics import Score, char_distance, per_utterance, score, worst

__all__ = ["Score", "char_distance", "per_utterance", "score", "worst"]
