"""Sequence tagging (slot filling, POS tagging) with optional joint intent classification."""
from rnnlab.tagging.metrics import intent_accuracy, slot_report, slot_scores, token_accuracy
from rnnlab.tagging.model import IGNORE, Tagger
from rnnlab.tagging.predict import SlotFiller
from rnnlab.tagging.task import TaggingTask

__all__ = ["Tagger", "IGNORE", "TaggingTask", "SlotFiller", "slot_scores", "slot_report",
           "intent_accuracy", "token_accuracy"]
