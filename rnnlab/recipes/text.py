"""What the classify and seq2seq recipes share: examples that are either generated in code
(`--dataset`, character level) or read from `{train,valid,test}` files (`--data`, `--level`),
and raw text in, one output line per input out."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, ClassVar, Iterator

from rnnlab.data.labelled import split_text
from rnnlab.recipes.common import check_known, fingerprint, split_sizes
from rnnlab.recipes.recipe import Recipe, Trained


class TextRecipe(Recipe):
    """A recipe over examples of text. Subclasses name their data (`make_data`, `read_dir` as
    staticmethods) and implement `as_json` and `outputs`."""
    default_dataset: ClassVar[str]
    default_train_examples: ClassVar[int]
    file_level: ClassVar[str]         # the --level of files when none is given
    counted: ClassVar[str]            # what an example is called ("examples", "pairs")
    source_vocab: ClassVar[str]       # the vocabulary inputs are read with

    # make_data(name, n_train, n_valid, n_test, *, seed, min_len, max_len) -> {split: examples}
    make_data: ClassVar[Callable[..., dict[str, list]]]
    # read_dir(directory, level) -> {split: examples}
    read_dir: ClassVar[Callable[[str, str], dict[str, list]]]

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
            splits = self.make_data(self.dataset(options), *sizes, seed=options.data_seed,
                                    min_len=options.min_len, max_len=options.max_len)
            info = {"source": f"built-in:{self.dataset(options)}"}
        else:
            splits = self.read_dir(options.data, self.level(options))
            info = {"source": str(options.data), "level": self.level(options)}
        info["sha256"] = {s: fingerprint([self.as_json(ex) for ex in exs]) for s, exs in splits.items()}
        info[self.counted] = {s: len(exs) for s, exs in splits.items()}
        return splits, info

    def predict(self, trained: Trained, inputs: list[str], options) -> Iterator[str]:
        """Each input tokenised as the run's data was, then one line per input."""
        sequences = [split_text(text, self.level(trained.options)) for text in inputs]
        check_known(self.command, sequences, trained.vocabs[self.source_vocab])
        return self.outputs(trained, inputs, sequences, options)
