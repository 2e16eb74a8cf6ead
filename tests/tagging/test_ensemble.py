"""Ensembles of taggers: averaged posteriors, averaged CRF scores (decoding = the best path of the
members' summed scores, by enumeration), scored through TaggingTask like one model."""
import itertools

import pytest
import torch

from rnnlab.data.tagged import TaggedExample
from rnnlab.data.vocab import Vocabulary
from rnnlab.data.words import WordEncoder
from rnnlab.errors import ConfigError
from rnnlab.layers.word_features import WordFeatures
from rnnlab.tagging.bio import bio_constraints
from rnnlab.tagging.ensemble import TaggerEnsemble
from rnnlab.tagging.model import Tagger
from rnnlab.tagging.task import TaggingTask

SENTENCES = [["to", "boston"], ["from", "denver", "to", "boston"], ["denver"]]
TAGS = ["O", "B-to", "I-to", "B-from"]


def members(n, crf, encoder):
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        model = Tagger.build(WordFeatures(encoder.word_vocab, embedding_size=4), len(TAGS), hidden_size=3,
                             bidirectional=True, num_intents=2, crf=crf).double().eval()
        if crf:
            model.crf.constrain(*bio_constraints(TAGS))
            with torch.no_grad():
                for p in model.crf.parameters():
                    p.normal_()
        out.append(model)
    return out


def test_posteriors_are_averaged():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    models = members(3, False, encoder)
    batch = encoder.encode(SENTENCES)
    tags, intents = TaggerEnsemble(models)(batch)
    outs = [m(batch) for m in models]
    assert torch.allclose(tags.exp(), torch.stack([o[0].softmax(-1) for o in outs]).mean(0))
    assert torch.allclose(intents.exp(), torch.stack([o[1].softmax(-1) for o in outs]).mean(0))
    one, _ = TaggerEnsemble(models[:1])(batch)  # one member: its own posteriors
    assert torch.allclose(one, outs[0][0].log_softmax(-1))


def test_crf_ensemble_decodes_the_best_path_of_the_summed_scores():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    models = members(2, True, encoder)
    ensemble = TaggerEnsemble(models)
    batch = encoder.encode(SENTENCES)
    emissions, _ = ensemble(batch)
    decoded = ensemble.crf.decode(emissions, batch.lengths)
    outs = [m(batch)[0] for m in models]
    for b, n in enumerate(batch.lengths.tolist()):
        best, best_score = None, -float("inf")
        for y in itertools.product(range(len(TAGS)), repeat=n):
            tags = torch.zeros_like(batch.word_ids)
            tags[:n, b] = torch.tensor(y)
            score = sum(float(m.crf.score(o, tags, batch.lengths)[b].detach()) for m, o in zip(models, outs))
            if not all(bool(m.crf.start_ok[y[0]]) for m in models) or \
                    not all(bool(models[0].crf.follows[y[t - 1], y[t]]) for t in range(1, n)):
                continue  # forbidden by the BIO rules
            if score > best_score:
                best, best_score = y, score
        assert tuple(decoded[:n, b].tolist()) == best


def test_an_ensemble_is_scored_like_one_model():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    examples = [TaggedExample(s, ["O"] * len(s), "flight") for s in SENTENCES]
    task = TaggingTask({"train": examples, "valid": examples}, encoder,
                       tag_vocab=Vocabulary(TAGS, unk=None))
    for crf in (False, True):
        models = [m.float() for m in members(2, crf, encoder)]
        for m in models:
            m.intent_out = None
            m.num_intents = 0
        task.intent_vocab = None
        metrics = task.evaluate(TaggerEnsemble(models), "valid")
        assert 0.0 <= metrics["token_accuracy"] <= 1.0 and metrics["loss"] > 0


def test_members_must_agree():
    encoder = WordEncoder.build(SENTENCES, trigrams=False)
    with pytest.raises(ConfigError, match="mix CRF"):
        TaggerEnsemble([members(1, False, encoder)[0], members(1, True, encoder)[0]])
    other = WordEncoder.build([["something", "else"]], trigrams=False)
    with pytest.raises(ConfigError, match="vocabular"):
        TaggerEnsemble([members(1, False, encoder)[0], members(1, False, other)[0]])
    with pytest.raises(ConfigError, match="at least one"):
        TaggerEnsemble([])
