"""The end-to-end memory network (Sukhbaatar et al. 2015): K hops of soft attention over the
sentences of a story, for question answering.

    u¹ = Σ_j l_j ∘ B q_j                                 the question (bag of words, position-weighted)
    m_i = Σ_j l_j ∘ A^k x_ij + T_A^k(i)                  memory in: sentence i at hop k
    c_i = Σ_j l_j ∘ C^k x_ij + T_C^k(i)                  memory out
    p^k = softmax(u^k · m_i)                             attention over the sentences (eq. 1)
    o^k = Σ_i p_i^k c_i,   u^{k+1} = u^k + o^k           (eq. 2, 3)
    â = softmax(W u^{K+1})                               the answer, over the vocabulary

Adjacent weight tying (section 2.2): A^{k+1} = C^k, B = A¹, W = (C^K)ᵀ — so the model holds K + 1
embedding matrices E_0..E_K (A^k = E_{k−1}, C^k = E_k), and K + 1 temporal tables tied the same way.
Position encoding (section 4.1): l_kj = (1 − j/J) − (k/d)(1 − 2j/J), j = 1..J the word's position,
k = 1..d the dimension, J the sentence's real length; without it a sentence is a plain bag of
words. Temporal encoding (4.1): T(i) indexed by how many sentences ago i was said (0 = the latest).
Linear start (4.2): while `linear` is set, p^k = u^k · m_i without the softmax; the trainer task
turns it off after the first epochs. It is a buffer, so a saved model remembers its mode.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError
from rnnlab.layers.described import Described, described


def position_encoding(lengths: Tensor, width: int, dim: int) -> Tensor:
    """l (…, width, dim) for sentences of `lengths` (…) padded to `width` words (zero past the end)."""
    J = lengths.clamp_min(1).unsqueeze(-1).unsqueeze(-1).to(torch.get_default_dtype())   # (…, 1, 1)
    j = torch.arange(1, width + 1).view(width, 1).to(J.dtype)                            # (width, 1)
    k = torch.arange(1, dim + 1).view(1, dim).to(J.dtype)                                # (1, dim)
    l = (1 - j / J) - (k / dim) * (1 - 2 * j / J)
    return l * (j <= J)


class MemN2N(Described, nn.Module):
    """story (B, S, W) word ids (0 = padding; sentences oldest first, empty rows after the story's
    end), question (B, Q) → answer logits (B, vocab). `forward(..., attention=True)` also returns
    the attention over the sentences per hop (B, hops, S)."""

    def __init__(self, vocab_size: int, dim: int = 20, hops: int = 3, max_story: int = 20, *,
                 position: bool = True, temporal: bool = True):
        super().__init__()
        if min(vocab_size, dim, hops, max_story) < 1:
            raise ConfigError(f"vocab_size, dim, hops and max_story must be >= 1, got {vocab_size}, {dim}, "
                              f"{hops}, {max_story}")
        self.vocab_size, self.dim, self.hops, self.max_story = vocab_size, dim, hops, max_story
        self.position, self.temporal = position, temporal
        # E_0..E_K: A^k = E_{k-1}, C^k = E_k, B = E_0, W = E_Kᵀ (adjacent tying); row 0 is padding
        self.embeddings = nn.ModuleList(nn.Embedding(vocab_size, dim, padding_idx=0) for _ in range(hops + 1))
        for e in self.embeddings:
            nn.init.normal_(e.weight, std=0.1)
            with torch.no_grad():
                e.weight[0].zero_()
        self.times = nn.Parameter(torch.randn(hops + 1, max_story, dim) * 0.1) if temporal else None
        self.register_buffer("linear", torch.tensor(False))

    @classmethod
    def build(cls, vocab_size: int, *, dim: int = 20, hops: int = 3, max_story: int = 20, position: bool = True,
              temporal: bool = True) -> "MemN2N":
        return described(cls(vocab_size, dim, hops, max_story, position=position, temporal=temporal),
                         dict(vocab_size=vocab_size, dim=dim, hops=hops, max_story=max_story, position=position,
                              temporal=temporal))

    def set_linear(self, on: bool) -> None:
        self.linear.fill_(bool(on))

    def _encode(self, ids: Tensor, hop: int) -> Tensor:
        """Σ_j l_j ∘ E_hop x_j: ids (…, W) → (…, dim)."""
        emb = self.embeddings[hop](ids)                                              # (…, W, d)
        if self.position:
            emb = emb * position_encoding((ids != 0).sum(-1), ids.shape[-1], self.dim).to(emb)
        return emb.sum(-2)

    def forward(self, story: Tensor, question: Tensor, attention: bool = False):
        if story.dim() != 3 or question.dim() != 2 or story.shape[0] != question.shape[0]:
            raise ValueError(f"MemN2N: story must be (B, S, W) and question (B, Q), got {tuple(story.shape)} "
                             f"and {tuple(question.shape)}")
        B, S, _ = story.shape
        if S > self.max_story:
            raise ValueError(f"MemN2N: a story of {S} sentences; the model holds at most {self.max_story}")
        if int(story.max()) >= self.vocab_size or int(question.max()) >= self.vocab_size or int(story.min()) < 0:
            raise ValueError(f"MemN2N: word ids must be in [0, {self.vocab_size})")
        present = (story != 0).any(-1)                                               # (B, S) real sentences
        count = present.sum(-1, keepdim=True)                                        # (B, 1)
        ago = (count - 1 - torch.arange(S, device=story.device)).clamp(0, self.max_story - 1)  # (B, S), 0 = latest
        u = self._encode(question, 0)                                                # u¹ = B q
        weights = []
        memory_in = self._encode(story, 0) + (self.times[0][ago] if self.temporal else 0)   # A¹ = E_0
        for k in range(1, self.hops + 1):
            memory_out = self._encode(story, k) + (self.times[k][ago] if self.temporal else 0)  # C^k = E_k
            scores = torch.einsum("bd,bsd->bs", u, memory_in)
            if bool(self.linear):  # linear start: no softmax, padding weighs nothing
                p = torch.where(present, scores, torch.zeros((), dtype=scores.dtype, device=scores.device))
            else:
                p = torch.softmax(scores.masked_fill(~present, float("-inf")), dim=-1)
                p = torch.where(present, p, torch.zeros((), dtype=p.dtype, device=p.device))  # an empty story
            u = u + torch.einsum("bs,bsd->bd", p, memory_out)                        # u^{k+1} = u^k + o^k
            weights.append(p)
            memory_in = memory_out                                                   # A^{k+1} = C^k
        logits = u @ self.embeddings[self.hops].weight.T                             # W = (C^K)ᵀ
        return (logits, torch.stack(weights, 1)) if attention else logits
