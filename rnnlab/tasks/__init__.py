"""Built-in tasks, generated in code (no downloads)."""
from rnnlab.tasks.memory import adding_problem, copy_task

__all__ = ["adding_problem", "copy_task"]
