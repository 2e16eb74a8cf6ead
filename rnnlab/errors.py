"""Errors a user can cause, as opposed to bugs.

The CLI prints these as one line (`rnnlab: error: ...`) instead of a traceback, so every message
must name the problem and, where it helps, the fix. They subclass the built-in exception a Python
user would expect (a missing file is still a FileNotFoundError to `except` clauses).
"""
from __future__ import annotations


class RnnlabError(Exception):
    """Base of every error caused by input, data, configuration or files rather than by rnnlab."""


class DataError(RnnlabError, ValueError):
    """Unusable data: a missing or empty file, bad encoding, an unknown token, a wrong shape."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data directory or file that does not exist."""


class ConfigError(RnnlabError, ValueError):
    """An unknown option, an impossible value, or a resume whose settings contradict the run's."""


class CheckpointError(RnnlabError):
    """A run directory or checkpoint that is missing, corrupt, or was not written by rnnlab."""


class DivergedError(RnnlabError, FloatingPointError):
    """Training produced a non-finite loss or gradient (lower the learning rate or clip gradients)."""


class DistributedError(RnnlabError, RuntimeError):
    """A process of a distributed run lost the others (one failed or was stopped), or the
    processes cannot be started as asked."""
