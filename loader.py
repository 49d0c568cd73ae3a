"""The seed's loader module: the spectrogram feature, the dataset, the threaded loaders and their batches.

The implementation lives under the seed's modules, in ``speech_kit`` (``features``, ``dataset``, ``batching``); this
file keeps every name 2019 code and old snapshots import, ``_collate_fn`` included.
"""

from speech_kit.batching import (BaseDataLoader, Batch, FixedSizeBatches, FrameBudgetBatches, LoaderFailure,
                                  MultiLoader, RoundRobin, create_empty_batch, cut_by_frames, iterate_batches)
from speech_kit.batching import collate as _collate_fn
from speech_kit.dataset import (BaseDataset, DataSplit, TrainList, get_script, load_targets, read_train_list,
                                split_dataset)
from speech_kit.features import HOP_LENGTH, N_FFT, N_FREQ, feature_frames, get_spectrogram_feature

__all__ = ["Batch", "BaseDataLoader", "BaseDataset", "DataSplit", "FixedSizeBatches", "FrameBudgetBatches",
           "HOP_LENGTH", "LoaderFailure", "MultiLoader", "N_FFT", "N_FREQ", "RoundRobin", "TrainList", "_collate_fn",
           "create_empty_batch", "cut_by_frames", "feature_frames", "get_script", "get_spectrogram_feature",
           "iterate_batches", "load_targets", "read_train_list", "split_dataset"]
