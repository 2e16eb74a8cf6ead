"""Built-in tasks, generated in code (no downloads)."""
from rnnlab.tasks.flights import flight_corpus
from rnnlab.tasks.grammar import CLASSIFICATION_TASKS, classification_data
from rnnlab.tasks.memory import adding_problem, copy_task
from rnnlab.tasks.synthetic import SYNTHETIC_TASKS, synthetic_corpus, synthetic_sequences, task_hypotheses
from rnnlab.tasks.transduction import TRANSDUCTION_TASKS, transduction_data

__all__ = ["adding_problem", "copy_task", "SYNTHETIC_TASKS", "synthetic_sequences", "synthetic_corpus", "task_hypotheses",
           "flight_corpus", "CLASSIFICATION_TASKS", "classification_data", "TRANSDUCTION_TASKS", "transduction_data"]
