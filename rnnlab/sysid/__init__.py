"""Signals in, signals out: NARX / Elman / LSTM models of a signal (model.py) and the trainer tasks
of system identification and latching (task.py)."""
from rnnlab.sysid.model import SignalModel
from rnnlab.sysid.task import FEEDBACK, LatchingTask, PlantTask

__all__ = ["SignalModel", "PlantTask", "LatchingTask", "FEEDBACK"]
