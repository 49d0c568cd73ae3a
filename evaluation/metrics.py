"""Character error rate exactly as the hackathon scored it (the seed's module name).

The implementation lives in ``speech_kit.scoring`` so the platform scores with code a user's snapshot cannot
shadow; this module keeps the names the 2019 code and the kit's users import.
"""

from speech_kit.scoring import Score, ScoringError, UtteranceScore, align, char_distance, per_utterance, score, worst

__all__ = ["Score", "ScoringError", "UtteranceScore", "align", "char_distance", "per_utterance", "score", "worst"]
