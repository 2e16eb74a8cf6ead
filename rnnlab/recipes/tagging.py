"""The slot-filling recipe: options → tagged sentences, word features, `Tagger` and `TaggingTask`.

Data (`--data DIR`) is read in ATIS, CoNLL or tab layout (rnnlab.data.tagged_dir); without
--data the built-in flight-booking corpus is generated. Vocabularies come from the training
split: words (those seen fewer than min_count times map to <unk>, so that its embedding is
trained), letter trigrams, tags ("O" first) and intents. `rnnlab tag` tags raw sentences.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

from rnnlab.cells.registry import CELLS
from rnnlab.data.tagged import TaggedExample
from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordEncoder
from rnnlab.datasets.flights import flight_corpus
from rnnlab.errors import CheckpointError, ConfigError, DataNotFoundError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.recipes.common import BatchOptions, EncoderOptions, ExampleOptions, VocabOptions, check_known, fingerprint, split_sizes
from rnnlab.recipes.ensemble import load_members
from rnnlab.recipes.presets import TAGGING_PRESETS
from rnnlab.recipes.recipe import ExploreRequest, Prepared, Recipe, Trained, parameters
from rnnlab.data.tagged_dir import read_tagged_dir
from rnnlab.tagging.bio import bio_constraints
from rnnlab.tagging.chars import CHAR_ENCODERS, CharWordEncoder, build_char_vocab
from rnnlab.tagging.ensemble import TaggerEnsemble
from rnnlab.tagging.inputs import tagger_inputs
from rnnlab.tagging.model import Tagger
from rnnlab.tagging.predict import SlotFiller
from rnnlab.tagging.task import TaggingTask
from rnnlab.train.config import Options, TrainConfig, option
from rnnlab.train.trainer import seed_everything

FEEDBACK = {"off": False, "onehot": True, "softmax": "softmax"}


@dataclass
class TaggingOptions(ExampleOptions, VocabOptions, EncoderOptions, BatchOptions, TrainConfig):
    """Options of `--task tagging`: word features, tag feedback, intent, BIO decoding."""
    GROUP: ClassVar[str] = "tagging"
    data: str | None = option(None, "data directory: ATIS layout (train/seq.in, seq.out, label), CoNLL files or "
                              "'words<TAB>tags[<TAB>intent]' lines in {train,valid,test}.txt (default: built-in data)")
    dataset: str | None = option(None, "built-in data when --data is not given: flights", choices=("flights",))
    flights_version: int = option(2, "version of the built-in flight corpus: 2, or 1 (rnnlab 0.1's, where the "
                                  "request phrasing gives the city's role away; runs made with it keep it)",
                                  choices=(1, 2))
    cell: str = option("lstm", "recurrent cell (see `rnnlab cells`), or none (no recurrence: each word tagged "
                       "from its own features)", choices=lambda: (*CELLS, "none"))
    trigrams: bool = option(True, "add letter-trigram features (word hashing) to the word embedding")
    projection: int = option(0, "learned size of the trigram features (0: the raw trigram count vector)", min=0)
    jordan_feedback: str = option("off", "feed the previous tag back into the first layer: off, onehot "
                                  "(teacher-forced in training, own predictions at inference) or softmax",
                                  choices=FEEDBACK)
    bio_decoding: bool = option(False, "output the best valid BIO tag sequence (Viterbi over the tag "
                                "probabilities: no I-X without B-X before it) instead of each word's most likely tag")
    crf: bool = option(False, "a linear-chain CRF output layer (learned tag transitions; trained by the sentence's "
                       "log-likelihood, decoded by Viterbi; with --bio-decoding its transitions obey BIO)")
    context: int = option(0, "a window of this many neighbouring words on each side: each word is read as the "
                          "features of the words t-r..t+r side by side (Mesnil et al. 2015; 0: the word alone)", min=0)
    chars: str = option("none", "a character-level encoder of each word, concatenated with its features: lstm "
                        "(a character BiLSTM, Lample et al. 2016), cnn (Ma & Hovy 2016) or none",
                        choices=("none", *CHAR_ENCODERS))
    char_embedding: int = option(25, "size of the character embedding of --chars", min=1)
    char_hidden: int = option(25, "units of the --chars encoder (per direction for lstm)", min=1)
    word_dropout: float = option(0.0, "in training, read each word as the unknown word with this probability "
                                 "(its trigrams and letters are kept), so that <unk> is trained", min=0, max=0.99)
    intent: bool = option(True, "also classify the sentence's intent when the data has intents")
    pool: str = option("last", "read the intent from the last state or the mean of all states", choices=("last", "mean"))


@dataclass
class TagOptions(Options):
    """Flags of `rnnlab tag` (and `rnnlab predict` on a tagging run)."""
    GROUP: ClassVar[str] = "output"
    format: str = option("columns", "columns: a word and its tag per line; pairs: word/TAG on one line; "
                         "json: one object per sentence", choices=("columns", "pairs", "json"))


def load_examples(options) -> tuple[dict[str, list[TaggedExample]], dict]:
    """The tagged sentences of each split, and where they came from (with fingerprints)."""
    if options.data is None:
        n_train, n_valid, n_test = split_sizes(options.train_examples or 2000)
        splits = flight_corpus(n_train, n_valid, n_test, seed=options.data_seed, version=options.flights_version)
        info = {"source": "built-in:flights"}
    else:
        splits, layout = read_tagged_dir(options.data)
        info = {"source": str(options.data), "layout": layout}
    if "valid" not in splits:
        raise DataNotFoundError(f"{options.data}: no validation split (valid)")
    info["sha256"] = {s: fingerprint([[ex.words, ex.tags, ex.intent] for ex in exs]) for s, exs in splits.items()}
    info["sentences"] = {s: len(exs) for s, exs in splits.items()}
    return splits, info


class TaggingRecipe(Recipe):
    """Slot filling (a tag per word) and the sentence's intent."""
    name = "tagging"
    tasks = {"tagging": "tagging"}
    presets = TAGGING_PRESETS
    Options = TaggingOptions
    PredictOptions = TagOptions
    vocabs = ("words", "trigrams", "tags", "intents", "chars")
    required_vocabs = ("words", "tags")
    command, inputs, kind = "tag", "SENTENCE", "tagging run"
    command_help = "tag words of sentences with a trained tagger (slot filling)"
    use = 'tag with: rnnlab tag {run} "i would like to arrive taipei on november 2nd"'

    def saved_options(self, saved, where=None):
        """A run saved before the corpus had versions was trained on version 1: it keeps it."""
        return super().saved_options({"flights_version": 1, **saved}, where)

    def prepare(self, options, vocabs=None) -> Prepared:
        """Everything a training run needs. Pass the run's saved vocabularies when resuming."""
        splits, info = load_examples(options)
        vocabs = dict(vocabs or {})
        if "words" not in vocabs:
            built = WordEncoder.build([ex.words for ex in splits["train"]], min_count=options.min_count,
                                      trigrams=options.trigrams)
            vocabs["words"] = built.word_vocab
            if built.trigram_vocab is not None:
                vocabs["trigrams"] = built.trigram_vocab
        if options.trigrams and "trigrams" not in vocabs:
            raise CheckpointError("the run uses letter trigrams but its trigram vocabulary is missing")
        encoder = WordEncoder(vocabs["words"], vocabs.get("trigrams") if options.trigrams else None)
        if options.chars != "none":
            if "chars" not in vocabs:
                vocabs["chars"] = build_char_vocab([w for ex in splits["train"] for w in ex.words])
            encoder = CharWordEncoder(encoder, vocabs["chars"])
        task = TaggingTask(splits, encoder, batch_size=options.batch_size, seed=options.seed,
                           eval_batch_size=options.eval_batch_size, tag_vocab=vocabs.get("tags"),
                           intent_vocab=vocabs.get("intents") if options.intent else None,
                           bio_decoding=options.bio_decoding)
        vocabs["tags"] = task.tag_vocab
        if task.intent_vocab is not None:
            vocabs["intents"] = task.intent_vocab
        seed_everything(options.seed)  # the model's initial weights depend on it
        model = self._model(options, vocabs["words"], vocabs.get("trigrams"), task.num_tags, task.num_intents,
                            vocabs.get("chars"))
        if model.crf is not None and options.bio_decoding:  # saved as buffers: a loaded run keeps them
            model.crf.constrain(*bio_constraints(task.tag_vocab.tokens))
        info.update(words=len(vocabs["words"]), tags=task.num_tags, intents=task.num_intents)
        return Prepared(model, task, vocabs, info)

    @staticmethod
    def _model(options, words: Vocabulary, trigrams: Vocabulary | None, num_tags: int, num_intents: int,
               chars: Vocabulary | None = None) -> Tagger:
        embedding = options.hidden if options.embedding is None else options.embedding
        features = WordFeatures(words, trigrams, one_hot=embedding == 0, trigrams=options.trigrams,
                                embedding_size=embedding, projection=options.projection)
        features = tagger_inputs(features, char_vocab=chars, chars=None if options.chars == "none" else options.chars,
                                 char_embedding=options.char_embedding, char_hidden=options.char_hidden,
                                 context=options.context, word_dropout=options.word_dropout)
        return Tagger.build(features, num_tags, cell=None if options.cell == "none" else options.cell,
                            hidden_size=options.hidden, num_layers=options.layers,
                            bidirectional=options.bidirectional, dropout=options.dropout,
                            jordan_feedback=FEEDBACK[options.jordan_feedback],
                            num_intents=num_intents if options.intent else 0, intent_from=options.pool,
                            crf=options.crf)

    def describe(self, prepared: Prepared, options) -> str:
        info = prepared.data_info
        source = "the built-in flight corpus" if info["source"] == "built-in:flights" else info["source"]
        sizes = ", ".join(f"{s} {n:,}" for s, n in info["sentences"].items())
        kind = ("bidirectional " if options.bidirectional else "") + options.cell
        if options.jordan_feedback != "off":
            kind += f" + tag feedback ({options.jordan_feedback})"
        if options.crf:
            kind += " + CRF"
        if options.chars != "none":
            kind += f" over words + a character {options.chars}"
        if options.context:
            kind += f", a window of {options.context} words each side"
        if options.word_dropout:
            kind += f", word dropout {options.word_dropout}"
        return (f"tagging on {source}: {sizes} sentences; {info['words']:,} words, {info['tags']} tags, "
                f"{info['intents']} intents\n{options.layers} x {options.hidden} {kind}, "
                f"{parameters(prepared.model):,} parameters, {prepared.task.num_batches():,} updates per epoch")

    def format_metrics(self, metrics: dict) -> str:
        out = (f"slot F1 {100 * metrics['slot_f1']:.2f} (precision {100 * metrics['slot_precision']:.2f}, "
               f"recall {100 * metrics['slot_recall']:.2f}), token accuracy {100 * metrics['token_accuracy']:.2f}")
        if "intent_accuracy" in metrics:
            out += f", intent accuracy {100 * metrics['intent_accuracy']:.2f}"
        return out + f", loss {metrics['loss']:.4f}"

    def vocab_sizes(self, model_config) -> dict[str, int]:
        features = model_config.get("features") or {}
        sizes = {"words": features.get("num_words"), "tags": model_config.get("num_tags")}
        if features.get("trigrams"):
            sizes["trigrams"] = features.get("num_trigrams")
        if features.get("chars"):
            sizes["chars"] = features["chars"].get("num_chars")
        if model_config.get("num_intents"):
            sizes["intents"] = model_config["num_intents"]
        return sizes

    def rebuild(self, model_config, vocabs) -> Tagger:
        return Tagger.from_config(model_config, vocabs["words"], vocabs.get("trigrams"), vocabs.get("chars"))

    def predictor(self, model, vocabs, options) -> SlotFiller:
        intents = vocabs.get("intents") if model.num_intents else None
        return SlotFiller(model, vocabs["tags"], intents, batch_size=options.eval_batch_size,
                          bio_decoding=options.bio_decoding)

    def predict(self, trained: Trained, inputs: list[str], options: TagOptions) -> Iterator[str]:
        """Each sentence's words with their tags (as columns, word/TAG pairs or JSON), then its intent."""
        sentences = [line.split() for line in inputs]
        check_known("tag", sentences, trained.vocabs["words"],
                    " and their letter trigrams" if trained.options.trigrams else "")
        for words, (tags, intent) in zip(sentences, trained.predictor.predict_many(sentences)):
            if options.format == "json":
                yield json.dumps({"words": words, "tags": tags, **({"intent": intent} if intent else {})}) + "\n"
                continue
            if options.format == "pairs":
                yield " ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n"
            else:
                width = max(map(len, words))
                yield "".join(f"{w:<{width}}  {t}\n" for w, t in zip(words, tags))
            if intent:
                yield f"intent: {intent}\n"
            if options.format == "columns" and len(sentences) > 1:
                yield "\n"

    def explorer(self, trained: Trained, request: ExploreRequest):
        from rnnlab.recipes.explorers import tagger_explorer
        if trained.options.chars == "lstm":  # the recorder would mix its letter steps with the word steps
            raise ConfigError(f"{trained.run.path} has a character BiLSTM (--chars lstm), whose steps are letters, "
                              "not words: rnnlab explore cannot show it yet (a --chars cnn run can be explored)")
        return tagger_explorer(trained, request)


RECIPE = TaggingRecipe()


def load_ensemble(runs: Sequence[str | Path]) -> Trained:
    """Several tagging runs of the same data (e.g. one recipe, several seeds) as one `Trained` whose
    model is their `TaggerEnsemble` (averaged posteriors, or averaged CRF scores); options, vocabularies
    and directory are the first run's. `RECIPE.evaluate(load_ensemble(runs), "test")` scores it."""
    trained = load_members(RECIPE, runs)
    first = trained[0]
    model = TaggerEnsemble([t.model for t in trained]).eval()
    return replace(first, model=model, predictor=RECIPE.predictor(model, first.vocabs, first.options))
