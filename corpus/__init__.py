"""Synthetic Korean speech corpus in the 2019 NAVER hackathon layout, made only from text we wrote or that a
PyPI package ships.

NAVER's recordings may not be redistributed, so the repository makes a stand-in: sentences from
``text_sources`` (hand-written files, ``templates_ko`` with numbers spelled by ``numbers_ko``, and konlpy's
kolaw/kobill read by ``konlpy_text``), planned by a seed (``plan``), spoken by espeak-ng voice variants
(``voices``, ``synthesize``) with silences, level changes and sox noise from the kit's synthesis toolkit
(``speech_kit.synth``, shared with the Russian numbers), and written to disk by ``python -m corpus.make_dataset``
(``dataset_files``). ``python -m corpus.build_labels`` builds label tables and
``python -m corpus.text_sources`` counts the sentences of each source.

The package imports nothing itself, so that running one of its modules with ``python -m`` loads it only once.
"""
