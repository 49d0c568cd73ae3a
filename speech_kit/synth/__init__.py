"""One synthesis toolkit for the kit's synthetic corpora: the Korean sentences (``corpus``) and the Russian spoken
numbers (``ru_numbers``). Each language keeps its own texts, voice tables and plan; this package does the rest.

* ``tools`` - runs espeak-ng, sox (and later text2wave): ``ToolError``, ``require`` with the install command, ``run``.
* ``sox`` - resampling and noise generation in repeatable mode, in the two sample formats the corpora use.
* ``speaker`` - the voice seam: the ``Speaker`` protocol (text -> float64 samples at 16 kHz) and edge trimming.
* ``espeak`` - espeak-ng as a ``Speaker`` (``EspeakVoice``), its variant listing, clips at its native rate.
* ``festival`` - Festival's natural Russian voice as a ``Speaker`` (``FestivalVoice``), ``speak_many`` per process.
* ``augment`` - effects turning one voice into many: ``tempo``, ``voice_shift``, ``telephone``, ``reverb``, ``chain``.
* ``noise`` - the noise colours, sox noise beds, excerpts of a bed, mixing at a measured SNR.
* ``render`` - effects, silences, noise, peak level and the atomic 16-bit WAV write, under a corpus's
  ``Conventions``; ``synthesize`` does speak + render + write for one utterance.
* ``manifest`` - the dataset's table (CSV or TSV) written atomically and read with file:line errors.

Where the next work plugs in:

* **A new voice** is a new module with a class whose ``speak(text)`` returns float64 samples at 16 kHz with its
  edge silence cut by ``speaker.trim_edges``, raising ``ToolError`` when it fails. Festival's Russian voice
  (``text2wave -eval '(voice_msu_ru_nsh_clunits)'``) would keep one Festival process for many utterances inside
  that object; ``tools.PACKAGES`` already names its package. Plans then choose a voice per utterance as they
  choose an espeak-ng variant today, and ``render.synthesize`` takes any ``Speaker``.
* **An augmentation** is an ``render.Effect`` (samples -> samples at 16 kHz) passed to ``render.synthesize``:
  ``speech_effects`` change the voice before the silences and the noise (speed/tempo, pitch, vocal-tract length,
  reverberation), ``channel_effects`` change the mixed signal before the level is set (telephone band). A sox
  effect chain is an ``Effect`` that pipes the samples through ``sox`` (beside ``sox.resample``), so both
  languages get each augmentation at once.

The package imports nothing of the kit outside ``speech_kit``.
"""
