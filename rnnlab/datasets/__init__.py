"""Built-in datasets, generated in code (no downloads): memory tasks as tensors and as text, a
flight-booking corpus, grammars to classify, transductions to learn."""
from rnnlab.datasets.flights import flight_corpus
from rnnlab.datasets.grammar import CLASSIFICATION_DATASETS, classification_data
from rnnlab.datasets.memory import adding_problem, copy_task
from rnnlab.datasets.synthetic import SYNTHETIC_DATASETS, synthetic_corpus, synthetic_sequences
from rnnlab.datasets.transduction import TRANSDUCTION_DATASETS, transduction_data

__all__ = ["adding_problem", "copy_task", "SYNTHETIC_DATASETS", "synthetic_sequences", "synthetic_corpus",
           "flight_corpus", "CLASSIFICATION_DATASETS", "classification_data", "TRANSDUCTION_DATASETS", "transduction_data"]
