"""Russian spoken numbers: hear a cardinal number 1..999 999 said in words, write it in digits, tell the gender.

This package holds the data and text side; the recogniser is built on the kit's shared speech core.

* ``normalize`` - words <-> numbers (``words_to_number``, ``number_to_words``), strict about word order and
  agreement; ``lexicon`` - the number words themselves.
* ``units`` - the recogniser's output alphabets (digits, number words) as label tables in the kit's format.
* ``generate`` - the data set command; ``plan`` decides every utterance from one seed, ``sampling`` chooses the
  numbers and the train/test split, ``render`` makes the audio, ``manifest`` writes and reads the CSV.
* ``voices`` - the espeak-ng variants used and why; ``voice_audit`` re-measures them; ``pitch`` estimates F0;
  ``espeak`` holds the Russian espeak-ng settings; the synthesis tools themselves are ``speech_kit.synth``.
"""
