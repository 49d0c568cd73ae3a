"""Scoring as the 2019 leaderboard did it: CER with spaces removed, CRR = (1 - CER) * 100.

The core is ``speech_kit.scoring``; these are the seed's public names for it.
"""

from speech_kit.scoring import Score, char_distance, per_utterance, score, worst

__all__ = ["Score", "char_distance", "per_utterance", "score", "worst"]
