"""The attention Seq2seq of the 2019 baseline: EncoderRNN (conv + GRU), DecoderRNN (GRU + attention), Seq2seq."""

from models.attention import Attention
from models.checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from models.config import ModelConfig
from models.decoder import DecoderRNN
from models.decoding import greedy_decode
from models.encoder import EncoderRNN
from models.seq2seq import Seq2seq, build_model

__all__ = ["Attention", "Checkpoint", "CheckpointError", "DecoderRNN", "EncoderRNN", "ModelConfig", "Seq2seq",
           "build_model", "check_compatible", "greedy_decode", "load_checkpoint", "save_checkpoint"]
