"""The tagger's input stack: word features (rnnlab/layers/word_features.py), optionally with word
dropout in training (`WordDropout`), optionally with a character encoding of each word
(`CharWordFeatures`), optionally read through a context window of neighbouring words
(`ContextWindow`), in that order:

    WordFeatures → [WordDropout] → [CharWordFeatures] → [ContextWindow] → the tagger's encoder

Each wrapper's `config()` is the `WordFeatures` config plus its own key ("word_dropout", "chars",
"context"), so
a config without them — every run saved before they existed — rebuilds a plain `WordFeatures`.
"""
from __future__ import annotations

from torch import nn

from rnnlab.data.vocab import Vocabulary
from rnnlab.errors import ConfigError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.chars import CharWordFeatures
from rnnlab.tagging.context import ContextWindow
from rnnlab.tagging.word_dropout import WordDropout


def tagger_inputs(word_features: WordFeatures, *, char_vocab: Vocabulary | None = None, chars: str | None = None,
                  char_embedding: int = 25, char_hidden: int = 25, context: int = 0,
                  word_dropout: float = 0.0) -> nn.Module:
    """`word_features`, with words read as <unk> with probability `word_dropout` in training (0:
    never), a character encoder `chars` ("lstm", "cnn"; None: none) over `char_vocab`, and a
    window of `context` words on each side (0: none)."""
    if context < 0:
        raise ConfigError(f"context must be >= 0, got {context}")
    features: nn.Module = word_features
    if word_dropout:
        features = WordDropout(features, word_dropout)
    if chars is not None:
        if char_vocab is None:
            raise ConfigError("a character encoder needs a character vocabulary (build_char_vocab)")
        features = CharWordFeatures(features, char_vocab, kind=chars, embedding_size=char_embedding,
                                    hidden_size=char_hidden)
    if context:
        features = ContextWindow(features, context)
    return features


def inputs_from_config(config: dict, word_vocab: Vocabulary, trigram_vocab: Vocabulary | None = None,
                       char_vocab: Vocabulary | None = None) -> nn.Module:
    """The input stack that `config()` of one of them describes, around the saved vocabularies."""
    config = dict(config)
    context, chars = config.pop("context", 0), config.pop("chars", None)
    word_dropout = config.pop("word_dropout", 0.0)
    features: nn.Module = WordFeatures.from_config(config, word_vocab, trigram_vocab)
    if word_dropout:
        features = WordDropout(features, word_dropout)
    if chars is not None:
        if not isinstance(chars, dict):
            raise ConfigError(f"the features' 'chars' entry must be a mapping, got {chars!r}")
        features = CharWordFeatures.from_config(features, chars, char_vocab)
    if context:
        features = ContextWindow(features, context)
    return features
