"""Sequence classification: one label for a whole sequence, read from the last or the mean state."""
from rnnlab.classify.model import POOLS, SequenceClassifier
from rnnlab.classify.predict import LabelPredictor
from rnnlab.classify.task import IGNORE, ClassificationTask

__all__ = ["SequenceClassifier", "ClassificationTask", "LabelPredictor", "POOLS", "IGNORE"]
