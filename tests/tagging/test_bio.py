"""BIO-consistent Viterbi decoding against brute force over every tag sequence."""
import itertools

import torch

from rnnlab.tagging.bio import bio_constraints, bio_viterbi

TAGS = ["O", "B-a", "I-a", "B-b", "I-b"]


def valid(seq: list[str]) -> bool:
    prev = "O"
    for tag in seq:
        if tag.startswith("I-") and prev not in ("B-" + tag[2:], tag):
            return False
        prev = tag
    return True


def test_constraints_follow_the_bio_rules():
    start, follows = bio_constraints(TAGS)
    assert start.tolist() == [True, True, False, True, False]
    i_a = TAGS.index("I-a")
    assert [TAGS[i] for i in range(5) if follows[i, i_a]] == ["B-a", "I-a"]
    assert follows[:, TAGS.index("B-b")].all() and follows[:, 0].all()


def test_viterbi_equals_brute_force_with_padding():
    torch.manual_seed(0)
    start, follows = bio_constraints(TAGS)
    T, B = 4, 6
    scores = torch.log_softmax(torch.randn(T, B, len(TAGS)) * 3, -1)
    lengths = torch.tensor([4, 3, 1, 2, 4, 4])
    best = bio_viterbi(scores, lengths, start, follows)
    for b in range(B):
        n = int(lengths[b])
        candidates = [seq for seq in itertools.product(range(len(TAGS)), repeat=n) if valid([TAGS[k] for k in seq])]
        expected = max(candidates, key=lambda seq: sum(float(scores[t, b, k]) for t, k in enumerate(seq)))
        assert best[:n, b].tolist() == list(expected)
        assert valid([TAGS[k] for k in best[:n, b].tolist()])


def test_valid_argmax_is_left_alone_and_other_tag_sets_are_unconstrained():
    start, follows = bio_constraints(["NOUN", "VERB"])
    assert start.all() and follows.all()
    scores = torch.log_softmax(torch.randn(5, 3, 2), -1)
    assert torch.equal(bio_viterbi(scores, torch.tensor([5, 5, 5]), start, follows), scores.argmax(-1))
