"""Context decides: on the flight corpus every city word is a departure as often as a destination,
so a per-word classifier is at chance on city tokens, while a recurrent tagger reads the cue
("from", "to", "leave", "arrive in", the word order) and gets them right."""
import torch

from rnnlab.data.words import WordEncoder
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging import Tagger, TaggingTask, token_accuracy
from rnnlab.datasets.flights import flight_corpus, is_city_tag
from rnnlab.train import TrainConfig, Trainer


def train_and_score(splits, cell, **kw):
    torch.manual_seed(0)
    enc = WordEncoder.build([e.words for e in splits["train"]])
    feats = WordFeatures(enc.word_vocab, enc.trigram_vocab, one_hot=True, trigrams=True, embedding_size=8,
                         projection=24)
    task = TaggingTask(splits, feats, batch_size=16, seed=0)
    model = Tagger.build(feats, task.num_tags, cell=cell, hidden_size=32, num_intents=task.num_intents, **kw)
    Trainer(model, task, TrainConfig(epochs=4, lr=1e-2), progress=False, tensorboard=False).fit()
    gold = [e.tags for e in splits["test"]]
    pred = [tags for tags, _ in task.predict_many(model, [e.words for e in splits["test"]])]
    role = token_accuracy(gold, pred, where=is_city_tag)
    # the role-free question "is this a city token?" (B/I included) is answered right either way
    def roleless(sentences):
        return [[t.replace("fromloc.", "").replace("toloc.", "") for t in s] for s in sentences]

    city = token_accuracy(roleless(gold), roleless(pred), where=lambda t: t.endswith("-city_name"))
    return role, city


def test_context_disambiguates_departure_from_destination():
    splits = flight_corpus(n_train=600, n_valid=100, n_test=200, seed=0)
    ff_role, ff_city = train_and_score(splits, cell=None)
    rnn_role, rnn_city = train_and_score(splits, cell="lstm", bidirectional=True)
    assert ff_city > 0.95  # the feed-forward tagger has learned what a city is ...
    assert ff_role <= 0.5 + 1e-9  # ... but a word alone cannot tell its role: exactly chance at best
    assert rnn_role >= 0.95, rnn_role
