"""The shared speech core, at the bottom of the tree: it imports nothing of the kit above it.

Audio and features (``audio``, ``features``, ``feature_cache``, ``augment``), label tables and output units
(``vocab``, ``units``), the dataset layout and its check (``layout``, ``validate``, ``screen``), the dataset and its
batches (``dataset``, ``batching``), training (``train``, ``objectives``, ``precision``, ``distributed``,
``steady_memory``), scoring (``scoring``, ``feed``), synthesis of training speech (``synth``) and small utilities
(``atomic``, ``forked``, ``threads``, ``cli``). The seed's modules (``loader``, ``label_loader``,
``evaluation.metrics``), the models, the Korean entry (``main.py``) and the Russian numbers system are built on it.
"""
