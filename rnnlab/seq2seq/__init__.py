"""Encoder–decoder models: the model, additive attention, decoding and the training task."""
from rnnlab.seq2seq.attention import AdditiveAttention
from rnnlab.seq2seq.decoding import Hypothesis, beam_search, greedy_decode, length_factor, translate
from rnnlab.seq2seq.model import Decoder, Encoder, Memory, Seq2Seq, choose_inputs, pad_batch
from rnnlab.seq2seq.task import SamplingSchedule, Seq2SeqTask, build_vocabularies

__all__ = [
    "Seq2Seq", "Encoder", "Decoder", "Memory", "AdditiveAttention", "choose_inputs", "pad_batch",
    "greedy_decode", "beam_search", "Hypothesis", "length_factor", "translate",
    "Seq2SeqTask", "SamplingSchedule", "build_vocabularies",
]
