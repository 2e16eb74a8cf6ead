"""Real-time recurrent learning: forward-mode gradients carried with the state.

`RTRL(encoder, method)` steps an encoder and its influence matrices J_t = ∂s_t/∂θ
(J_t = D_t J_{t−1} + M̄_t): exact ("rtrl"), SnAp-1 / SnAp-2, UORO, and exact element-wise
("diag", O(P) where the influence stays on each unit). Hand-derived step Jacobians for Elman,
LSTM, GRU and the element-wise LSTM; torch.func for any other cell.
`OnlineLMTask` trains a language model online on an endless stream with any of them, the state
and influence carried across epochs.
"""
from rnnlab.train.rtrl.engine import METHODS, RTRL, encoder_cells
from rnnlab.train.rtrl.kernels import hand_derived, step_jacobian

__all__ = ["RTRL", "METHODS", "encoder_cells", "step_jacobian", "hand_derived"]
