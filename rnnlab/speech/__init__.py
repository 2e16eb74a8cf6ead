"""Spoken-word (utterance) classification from audio features: a TDNN or recurrent encoder over
frames, pooled per utterance (model.py), its trainer task (task.py), training-time augmentation of
the frames (augment.py) and a WAV predictor (predict.py)."""
from rnnlab.speech.augment import FrameAugment
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.speech.predict import AudioPredictor
from rnnlab.speech.task import UtteranceTask, pad_frames

__all__ = ["UtteranceClassifier", "UtteranceTask", "AudioPredictor", "FrameAugment", "pad_frames"]
