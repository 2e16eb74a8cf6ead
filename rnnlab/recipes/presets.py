"""The built-in recipes' presets: named sets of options (`--preset NAME`; a task starts from its
recipe's preset for it). Each is checked against its recipe's options when used, so a preset
cannot name an option its task does not have.
"""
from __future__ import annotations

from typing import Any

LANGUAGE_MODEL_PRESETS: dict[str, dict[str, Any]] = {
    # a character LSTM that writes Python-looking code after a few minutes on 2 cores
    "char": {},
    # `make demo`: the same model on a short budget
    "demo": {"max_chars": 800_000, "epochs": 2, "hidden": 256, "layers": 1, "lr": 3e-3, "log_every": 10},
    # the synthetic memory tasks: small models whose units can be read one by one
    "memory": {"max_chars": 200_000, "hidden": 32, "layers": 1, "embedding": 0, "bptt": 50, "batch_size": 16,
               "epochs": 5, "lr": 1e-2, "eval_batch_size": 4, "log_every": 20},
    "word": {"task": "lm-word", "hidden": 200, "embedding": None, "bptt": 35, "batch_size": 20,
             "max_vocab": 10_000, "lr": 1e-3},
    # Zaremba, Sutskever & Vinyals (2014), "small": 2 x 200 LSTM, no dropout, SGD lr 1 halved
    # every epoch after the 4th, 13 epochs, batch 20, 20-step truncated BPTT, weights U(±0.1),
    # gradient norm clipped at 5 — of the loss summed over the 20 steps, as their code does.
    # Published: valid 120.7, test 114.5 perplexity.
    "ptb-small": {"task": "lm-word", "cell": "lstm", "hidden": 200, "layers": 2, "embedding": None,
                  "dropout": 0.0, "init_range": 0.1, "batch_size": 20, "bptt": 20, "eval_batch_size": 1,
                  "epochs": 13, "optimizer": "sgd", "lr": 1.0, "schedule": "step", "decay_start": 4,
                  "decay_factor": 0.5, "clip_norm": 5.0, "max_vocab": None, "log_every": 100,
                  "loss_sum_over_time": True},
}

TAGGING_PRESETS: dict[str, dict[str, Any]] = {
    # slot filling on the built-in flight corpus (or --data): BiLSTM over embeddings + letter trigrams
    "tagging": {"task": "tagging", "cell": "lstm", "hidden": 64, "layers": 1, "embedding": 64, "bidirectional": True,
                "projection": 64, "min_count": 2, "dropout": 0.2, "batch_size": 16, "eval_batch_size": 64,
                "bio_decoding": True, "epochs": 5, "lr": 3e-3, "log_every": 20},
    # ATIS slot filling + intent (tuned on valid only): BiLSTM 128 over a 100-d word embedding and a
    # 100-d projection of the word's letter trigrams; Adam, halved when valid F1 stalls, early stopping
    "atis": {"task": "tagging", "cell": "lstm", "hidden": 128, "layers": 1, "embedding": 100, "bidirectional": True,
             "trigrams": True, "projection": 100, "min_count": 1, "dropout": 0.3, "batch_size": 16,
             "eval_batch_size": 128, "epochs": 25, "optimizer": "adam", "lr": 2e-3, "clip_norm": 5.0,
             "schedule": "plateau", "decay_factor": 0.5, "plateau_patience": 1, "early_stopping": 6,
             "pool": "last", "bio_decoding": True, "log_every": 50},
}
# the same with a linear-chain CRF output layer (BIO-constrained transitions): docs/atis.md
TAGGING_PRESETS["atis-crf"] = {**TAGGING_PRESETS["atis"], "crf": True}

CLASSIFY_PRESETS: dict[str, dict[str, Any]] = {
    # sequence classification: a small LSTM over character embeddings (built-in: balanced brackets)
    "classify": {"task": "classify", "cell": "lstm", "hidden": 64, "layers": 1, "embedding": 16,
                 "batch_size": 32, "eval_batch_size": 128, "epochs": 5, "lr": 3e-3, "log_every": 20},
}

SEQ2SEQ_PRESETS: dict[str, dict[str, Any]] = {
    # encoder-decoder with attention on the built-in date translation
    "seq2seq": {"task": "seq2seq", "cell": "lstm", "hidden": 128, "layers": 1, "embedding": 32, "attention": True,
                "batch_size": 32, "eval_batch_size": 128, "epochs": 3, "lr": 3e-3, "log_every": 20},
}
