"""Networks with an explicit memory: the Neural Turing Machine (an rnnlab cell) with its
bit-sequence task model, and the end-to-end memory network for question answering."""
from rnnlab.memory.ntm import NTMCell

__all__ = ["NTMCell"]
