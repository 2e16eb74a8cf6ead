"""Language models: the model, the training task, and sampling."""
from rnnlab.lm.model import LanguageModel
from rnnlab.lm.sampling import generate, sample_next
from rnnlab.lm.stepper import Stepper
from rnnlab.lm.task import LanguageModelTask

__all__ = ["LanguageModel", "LanguageModelTask", "Stepper", "generate", "sample_next"]
