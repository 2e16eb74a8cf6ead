"""Spoken-word (utterance) classification from audio features: a TDNN or recurrent encoder over
frames, pooled per utterance (model.py), its trainer task (task.py) and a WAV predictor (predict.py)."""
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.speech.predict import AudioPredictor
from rnnlab.speech.task import UtteranceTask, pad_frames

__all__ = ["UtteranceClassifier", "UtteranceTask", "AudioPredictor", "pad_frames"]
