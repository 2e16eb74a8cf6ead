"""Online training of a language model by RTRL or its approximations: the trainer task.

The training text is laid out as B parallel streams (like truncated BPTT's `batchify`); update i
reads steps [i·k, i·k + k) of every stream (k = `update_every`), and each step t
    y_t = engine.step(embed(token_t))                 state and influence advance (engine.py)
    ℓ_t = CE(decoder(y_t), token_{t+1})               per token, averaged over the batch
    ∂ℓ_t/∂θ: decoder by autograd; encoder c_t · J^{out}_t; the embedding by exact RTRL's own
             influence columns, or (approximations) through the current step only
is summed into one gradient for the update — the loss is the mean over the k steps, as a
truncated-BPTT window's. The state and influence are carried across updates forever: nothing is
truncated, and memory does not grow with the stream.

Epochs. With `carry_across_epochs` (the default; `--online-reset never`) the training text is one
endless stream that loops: each of the B streams goes on from its last step back to its first,
with the state and influence of its end (the `Trainer` keeps the carry at an epoch's end, and its
epoch-end checkpoint holds it). So "forever" is for the whole run, not one pass, and a run's memory
is the same after 1 or 1000 epochs. `--online-reset epoch` starts each pass from the initial state
and zero influence instead.

Why a loop over time here: RTRL's work *is* per step (the influence must be updated before the
next step overwrites it), so the engine steps the cells (the cell contract) instead of a
`Recurrent` unroll; the model's own forward (evaluation) is unchanged.

The carry handed to the trainer — and saved in checkpoints — is (position, states, influences),
so a resumed run continues with the exact influence matrices (UORO's random signs come from
torch's global RNG, which checkpoints also restore).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnlab.data.batching import batchify
from rnnlab.errors import ConfigError, DataError
from rnnlab.lm.task import evaluate_stream
from rnnlab.train.rtrl.engine import METHODS, RTRL
from rnnlab.train.trainer import StepOutput


class _Inject(torch.autograd.Function):
    """A loss value whose backward writes precomputed gradients into the parameters: how an
    online task hands its forward-mode gradients to the `Trainer`, which calls backward()."""

    @staticmethod
    def forward(ctx, value, grads, *params):
        ctx.grads = grads
        return value.clone()

    @staticmethod
    def backward(ctx, g):
        return (None, None, *[g * gr for gr in ctx.grads])


def inject(value: Tensor, grads: dict[nn.Parameter, Tensor]) -> Tensor:
    params = list(grads)
    return _Inject.apply(value, [grads[p] for p in params], *params)


def embedding_jacobian(embedding: nn.Module, tokens: Tensor) -> Tensor:
    """∂x_t/∂E for x_t = E[token_t] (E: V × Dx): (B, Dx, V·Dx), a one at [b, d, token_b·Dx + d]."""
    V, Dx = embedding.weight.shape
    B = tokens.shape[0]
    out = embedding.weight.new_zeros(B, Dx, V * Dx)
    d = torch.arange(Dx, device=tokens.device)
    out[torch.arange(B, device=tokens.device).unsqueeze(1), d, tokens.unsqueeze(1) * Dx + d] = 1
    return out


class OnlineLMTask:
    """OnlineLMTask(splits, level=, batch_size=, method=, update_every=1, eval_batch_size=,
    carry_across_epochs=True): a `LanguageModel` learned online by `method` (see engine.METHODS);
    metric: loss per token."""

    metric = "loss"

    def __init__(self, splits: dict[str, Tensor], *, level: str, batch_size: int, method: str, update_every: int = 1,
                 eval_batch_size: int = 10, carry_across_epochs: bool = True):
        if "train" not in splits:
            raise DataError("language model task: no training split")
        if method not in METHODS:
            raise ConfigError(f"unknown online learning method {method!r}; choose one of: {', '.join(METHODS)}")
        if update_every < 1:
            raise ConfigError(f"update_every must be >= 1, got {update_every}")
        self.splits, self.level, self.method, self.k = splits, level, method, update_every
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.carry_across_epochs = carry_across_epochs  # read by the Trainer at an epoch's end
        self.stream = batchify(splits["train"], batch_size)  # (L, B)
        self._engines: dict[int, RTRL] = {}

    def num_batches(self) -> int:
        return math.ceil((self.stream.shape[0] - 1) / self.k)

    def tokens_per_epoch(self) -> int:
        return (self.stream.shape[0] - 1) * self.batch_size

    def engine(self, model) -> RTRL:
        if id(model) not in self._engines:
            if model.dropout:
                raise ConfigError("online RTRL training: dropout is not supported (set dropout 0)")
            exact_input = self.method == "rtrl" and isinstance(model.embedding, nn.Embedding)
            n_in = model.embedding.weight.numel() if exact_input else 0
            self._engines = {id(model): RTRL(model.rnn, self.method, input_params=n_in)}
        return self._engines[id(model)]

    def train_step(self, model, epoch: int, index: int, carry) -> StepOutput:
        eng = self.engine(model)
        a = index * self.k
        b = min(a + self.k, self.stream.shape[0] - 1)
        if carry is None:
            if index != 0:
                raise ValueError(f"online task: no carried state, but update {index} is not the stream's first")
            eng.reset(self.batch_size)
        else:
            pos, saved = carry
            wraps = index == 0 and pos == self.stream.shape[0] - 1 and self.carry_across_epochs
            if pos != a and not wraps:  # the stream loops: the end's state goes on at its start
                raise ValueError(f"online task: the carried state is for step {pos}, update {index} starts at {a}")
            eng.load_carry(saved)
        eng.zero_grads()
        encoder = set(eng.parameters)
        others = [p for p in model.parameters() if p not in encoder and p.requires_grad]
        grads = {p: torch.zeros_like(p) for p in others}
        emb_params = [p for p in model.embedding.parameters() if p.requires_grad]
        dec_params = [p for p in model.decoder.parameters() if p.requires_grad]
        steps, total = b - a, 0.0
        for t in range(a, b):
            tokens, targets = self.stream[t], self.stream[t + 1]
            with torch.set_grad_enabled(bool(emb_params) and not eng.input_params):
                x = model.embed(tokens.unsqueeze(0))[0]
            dx = embedding_jacobian(model.embedding, tokens) if eng.input_params else None
            y = eng.step(x.detach(), dx=dx).requires_grad_()
            loss = F.cross_entropy(model.decoder(y), targets)
            total += float(loss.detach())
            g = torch.autograd.grad(loss / steps, [y, *dec_params])
            for p, gp in zip(dec_params, g[1:]):
                grads[p] += gp
            credit = eng.backward(g[0])
            if x.requires_grad:  # approximations: the embedding through the current step
                for p, gp in zip(emb_params, torch.autograd.grad(x, emb_params, credit)):
                    grads[p] += gp
        if eng.input_params:
            w = model.embedding.weight
            grads[w] = grads[w] + eng.input_grad.view_as(w)
        grads.update(eng.grads)
        value = torch.tensor(total / steps, dtype=torch.float32)
        return StepOutput(inject(value, grads), steps * self.batch_size, (b, eng.carry()))

    def evaluate(self, model, split: str) -> dict[str, float]:
        if split not in self.splits:
            raise DataError(f"no {split!r} split to evaluate on (have: {', '.join(self.splits)})")
        return evaluate_stream(model, self.splits[split], self.eval_batch_size, self.level)

    # exact RTRL's influence grows as S·P per stream: refuse a model whose matrices would not fit
    MAX_INFLUENCE = 2 ** 27  # numbers (512 MiB in float32)

    def check_size(self, model) -> None:
        """ConfigError, naming the sizes, when exact RTRL's influence matrices would exceed MAX_INFLUENCE."""
        eng = self.engine(model)
        if self.method != "rtrl":
            return
        numbers = self.batch_size * eng.influence_size()
        if numbers > self.MAX_INFLUENCE:
            raise ConfigError(f"exact RTRL would carry {numbers:,} influence numbers ({numbers * 4 / 2**30:.1f} GiB: "
                              f"batch × state × parameters); use smaller --hidden / --layers / --batch-size / "
                              f"--embedding, or --learning snap1 / uoro")
