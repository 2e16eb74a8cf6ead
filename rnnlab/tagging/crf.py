"""A linear-chain CRF output layer (Lafferty et al. 2001; BiLSTM-CRF: Huang et al. 2015, Lample et
al. 2016): the tagger's per-word scores become emissions E_t(y) of a sequence model

    score(x, y) = start(y_0) + Σ_t E_t(y_t) + Σ_{t≥1} A(y_{t-1}, y_t) + end(y_{n-1})
    log p(y | x) = score(x, y) − log Z(x),   log Z = log Σ_y exp score(x, y)

with learned transition scores A (K, K) and start / end scores (K,). log Z comes from the forward
algorithm in log space,

    α_0(j) = start(j) + E_0(j),   α_t(j) = logsumexp_i(α_{t-1}(i) + A(i, j)) + E_t(j),
    log Z = logsumexp_j(α_{n-1}(j) + end(j)),

run as a cell (`_ForwardCell`) by `Recurrent`, the package's one time loop, which keeps each
sentence's α at its last real step (padded steps are skipped by selection, so whatever they hold
reaches no value or gradient). Decoding is Viterbi (`rnnlab.tagging.bio.viterbi`) with the same
scores. `constrain(start_ok, follows)` (from `bio_constraints`) forbids transitions such as
O → I-X or B-X → I-Y: their scores are replaced by a large negative constant, in training and in
decoding alike, so no decoded path contains one.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.cells.base import RecurrentCell
from rnnlab.errors import ConfigError, DataError
from rnnlab.layers.recurrent import Recurrent
from rnnlab.layers.sequence import check_lengths, length_mask
from rnnlab.tagging.bio import NEVER, viterbi


class CRF(nn.Module):
    """Linear-chain CRF over K tags. `log_likelihood(emissions (T, B, K), tags (T, B), lengths (B,))`
    → log p(tags | x) (B,); `log_partition(emissions, lengths)` → log Z (B,); `decode(emissions,
    lengths)` → best tag ids (T, B) (past a sentence's length: its last tag repeated).

    Parameters: `transitions` (K, K) (row: previous tag), `start` and `end` (K,), zero at first
    (the untrained CRF decodes as the per-word argmax). Buffers `start_ok` (K,) and `follows`
    (K, K) (booleans, all True unless `constraints` / `constrain` forbid some) are saved with the
    weights, so a loaded run decodes under the constraints it was trained with.
    """

    def __init__(self, num_tags: int, *, constraints: tuple[Tensor, Tensor] | None = None):
        super().__init__()
        if num_tags < 1:
            raise ConfigError(f"CRF: num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.register_buffer("start_ok", torch.ones(num_tags, dtype=torch.bool))
        self.register_buffer("follows", torch.ones(num_tags, num_tags, dtype=torch.bool))
        if constraints is not None:
            self.constrain(*constraints)

    def constrain(self, start_ok: Tensor, follows: Tensor) -> "CRF":
        """Forbid starting with tag j where not start_ok[j] and tag j after tag i where not follows[i, j]."""
        K = self.num_tags
        if tuple(start_ok.shape) != (K,) or tuple(follows.shape) != (K, K):
            raise ConfigError(f"CRF: constraints must be ({K},) and ({K}, {K}), got {tuple(start_ok.shape)} "
                              f"and {tuple(follows.shape)}")
        if not bool(start_ok.any()) or not bool(follows.any(dim=1).all()):
            raise ConfigError("CRF: the constraints leave no valid tag sequence")
        self.start_ok.copy_(start_ok.bool())
        self.follows.copy_(follows.bool())
        return self

    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """(transitions (K, K), start (K,), end (K,)) with forbidden entries at NEVER."""
        never = self.transitions.new_tensor(NEVER)
        return (torch.where(self.follows, self.transitions, never), torch.where(self.start_ok, self.start, never),
                self.end)

    def _check(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise DataError(f"CRF: emissions must be (T, B, {self.num_tags}), got {tuple(emissions.shape)}")
        return check_lengths(lengths, emissions.shape[0], emissions.shape[1], emissions.device, "CRF")

    def log_partition(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """log Z (B,) by the forward algorithm (see the module docstring)."""
        lengths = self._check(emissions, lengths)
        transitions, start, end = self.scores()
        cell = _ForwardCell(transitions.to(emissions.dtype), start.to(emissions.dtype))
        _, (alpha, _) = Recurrent(cell)(emissions, None, lengths)      # α at each sentence's last step
        return torch.logsumexp(alpha + end.to(emissions.dtype), dim=-1)  # log Z = logsumexp_j(α(j) + end(j))

    def score(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """score(x, y) (B,) of the given tag ids (T, B); padded entries may hold anything."""
        lengths = self._check(emissions, lengths)
        T, B, K = emissions.shape
        if tuple(tags.shape) != (T, B):
            raise DataError(f"CRF: tags must be (T, B) = {(T, B)}, got {tuple(tags.shape)}")
        mask = length_mask(lengths, T)                                         # (T, B)
        if bool(((tags[mask] < 0) | (tags[mask] >= K)).any()):
            raise DataError(f"CRF: a tag id at a real step is outside [0, {K}) (an unknown gold tag?)")
        y = torch.where(mask, tags, 0)                                          # padded: any valid id
        transitions, start, end = (s.to(emissions.dtype) for s in self.scores())
        zero = emissions.new_zeros(())
        emit = torch.where(mask, emissions.gather(2, y.unsqueeze(2)).squeeze(2), zero).sum(0)   # Σ_t E_t(y_t)
        trans = torch.where(mask[1:], transitions[y[:-1], y[1:]], zero).sum(0)  # Σ_{t≥1} A(y_{t-1}, y_t)
        last = y.gather(0, (lengths - 1).unsqueeze(0)).squeeze(0)              # y_{n-1}
        return start[y[0]] + emit + trans + end[last]

    def log_likelihood(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """log p(tags | x) (B,) = score − log Z."""
        return self.score(emissions, tags, lengths) - self.log_partition(emissions, lengths)

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """The highest-scoring tag ids (T, B) (Viterbi)."""
        lengths = self._check(emissions, lengths)
        return viterbi(emissions, lengths, *self.scores())

    def extra_repr(self) -> str:
        constrained = not (bool(self.start_ok.all()) and bool(self.follows.all()))
        return f"num_tags={self.num_tags}" + (", constrained" if constrained else "")


class _ForwardCell(RecurrentCell):
    """One step of the forward algorithm: E_t (B, K) and state (α_{t-1} (B, K), first (B, 1)) →
    α_t, both as output and state. `first` (1 until the first step) selects α_0 = start + E_0."""

    def __init__(self, transitions: Tensor, start: Tensor):
        super().__init__()
        self.input_size = self.hidden_size = transitions.shape[0]
        # plain tensors, not parameters: the gradient flows back to the CRF's parameters through them
        self.transitions, self.start_scores = transitions, start

    def init_state(self, batch: int, device=None, dtype=None) -> tuple[Tensor, Tensor]:
        return (torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),
                torch.ones(batch, 1, device=device, dtype=dtype))

    def forward(self, x_t: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        alpha, first = state
        onward = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + x_t  # logsumexp_i(α(i) + A(i, j)) + E_t(j)
        alpha = torch.where(first > 0, self.start_scores + x_t, onward)              # α_0(j) = start(j) + E_0(j)
        return alpha, (alpha, torch.zeros_like(first))
