"""Training: a model-agnostic loop, truncated BPTT, checkpoints, clipping, schedules, diagnostics."""
from rnnlab.train.checkpoint import load_weights, read_checkpoint, write_checkpoint
from rnnlab.train.diagnostics import gradient_norm_table, hidden_gradient_norms
from rnnlab.train.optim import clip_gradients, make_optimizer
from rnnlab.train.schedule import Schedule
from rnnlab.train.tbptt import Carry, TruncatedBPTT, Window
from rnnlab.train.plots import plot_gradient_norms, plot_metrics, read_metrics
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import StepOutput, Trainer, seed_everything

__all__ = [
    "Trainer", "TrainConfig", "Options", "option", "StepOutput", "seed_everything", "TruncatedBPTT", "Window", "Carry",
    "Schedule", "make_optimizer", "clip_gradients", "write_checkpoint", "read_checkpoint", "load_weights",
    "hidden_gradient_norms", "gradient_norm_table", "plot_gradient_norms", "plot_metrics", "read_metrics",
]
