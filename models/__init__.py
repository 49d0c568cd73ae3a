"""The attention Seq2seq of the 2019 baseline: EncoderRNN (conv + GRU), DecoderRNN (GRU + attention), Seq2seq,
and the decoding strategies that turn its encoder output into text."""

from models.attention import Attention, LocationAttention
from models.checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from models.config import ModelConfig
from models.decoder import DecoderRNN, DecoderState
from models.decoding import BeamSearchDecoder, DecodingOptions, GreedyDecoder, decode
from models.encoder import EncoderRNN
from models.seq2seq import EncoderOutput, Seq2seq, build_model

__all__ = ["Attention", "BeamSearchDecoder", "Checkpoint", "CheckpointError", "DecoderRNN", "DecoderState",
           "DecodingOptions", "EncoderOutput", "EncoderRNN", "GreedyDecoder", "LocationAttention", "ModelConfig",
           "Seq2seq", "build_model",
           "check_compatible", "decode", "load_checkpoint", "save_checkpoint"]
