"""The shared speech core under the seed's modules: audio, features, dataset layout, batching, objectives,
decoding, training and distributed set-up. The Korean hackathon entry (``main.py``) and the Russian numbers
system (``ru_numbers``) are both built from these pieces."""
