"""What the classify and seq2seq recipes share: examples that are either generated in code
(`--dataset`, character level) or read from `{train,valid,test}` files (`--data`, `--level`),
and raw text in, one output line per input out."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Iterator

from rnnlab.data.labelled import split_text
from rnnlab.recipes.common import check_known, fingerprint, split_sizes
from rnnlab.recipes.recipe import Recipe, Trained


class TextRecipe(Recipe):
    """A recipe over examples of text. Subclasses name their data and implement `generate`,
    `read`, `as_json` and `outputs`."""
    default_dataset: ClassVar[str]
    default_train_examples: ClassVar[int]
    file_level: ClassVar[str]         # the --level of files when none is given
    counted: ClassVar[str]            # what an example is called ("examples", "pairs")
    source_vocab: ClassVar[str]       # the vocabulary inputs are read with

    @abstractmethod
    def generate(self, name: str, sizes: tuple[int, int, int], options) -> dict[str, list]:
        """Built-in data `name`: {split: examples} of the given (train, valid, test) sizes."""

    @abstractmethod
    def read(self, directory: str, level: str) -> dict[str, list]:
        """{split: examples} of a data directory, tokenised at `level`."""

    @abstractmethod
    def as_json(self, example) -> Any:
        """An example as JSON-able data (what its fingerprint hashes)."""

    @abstractmethod
    def outputs(self, trained: Trained, texts: list[str], sequences: list[list[str]], options) -> Iterator[str]:
        """Output lines for the raw `texts`, given as token `sequences` too."""

    def dataset(self, options) -> str:
        return options.dataset or self.default_dataset

    def level(self, options) -> str:
        return "char" if options.data is None else options.level or self.file_level

    def load_examples(self, options) -> tuple[dict[str, list], dict]:
        """The examples of each split, and where they came from (with fingerprints and counts)."""
        if options.data is None:
            sizes = split_sizes(options.train_examples or self.default_train_examples)
            splits = self.generate(self.dataset(options), sizes, options)
            info = {"source": f"built-in:{self.dataset(options)}"}
        else:
            splits = self.read(options.data, self.level(options))
            info = {"source": str(options.data), "level": self.level(options)}
        info["sha256"] = {s: fingerprint([self.as_json(ex) for ex in exs]) for s, exs in splits.items()}
        info[self.counted] = {s: len(exs) for s, exs in splits.items()}
        return splits, info

    def predict(self, trained: Trained, inputs: list[str], options) -> Iterator[str]:
        """Each input tokenised as the run's data was, then one line per input."""
        sequences = [split_text(text, self.level(trained.options)) for text in inputs]
        check_known(self.command, sequences, trained.vocabs[self.source_vocab])
        return self.outputs(trained, inputs, sequences, options)
