"""The bAbI-style stories: deterministic by seed, and every answer checked against an independent
re-reading of the story text (a second simulation from the sentences alone)."""
from __future__ import annotations

import pytest

from rnnlab.datasets.babi import DROP, MOVE, NUMBERS, QA_TASKS, TAKE, qa_stories


def replay(story):
    """Where each person is and what each holds, from the sentences alone (not the world object)."""
    place, holder, dropped_at = {}, {}, {}
    for sentence in story:
        text = " ".join(sentence[:-1])  # drop the final "."
        person, rest = text.split(" ", 1)
        for phrases, kind in ((MOVE, "move"), (TAKE, "take"), (DROP, "drop")):
            for phrase in phrases:
                if rest.startswith(phrase + " "):
                    thing = rest[len(phrase) + 1:]
                    if kind == "move":
                        place[person] = thing
                    elif kind == "take":
                        holder[thing] = person
                        dropped_at.pop(thing, None)
                    else:
                        assert holder.pop(thing) == person, "only the holder drops a thing"
                        dropped_at[thing] = place[person]
    return place, holder, dropped_at


@pytest.mark.parametrize("task", QA_TASKS)
def test_same_seed_same_stories(task):
    assert qa_stories(task, 20, seed=3) == qa_stories(task, 20, seed=3)
    assert qa_stories(task, 20, seed=3) != qa_stories(task, 20, seed=4)


@pytest.mark.parametrize("task", QA_TASKS)
def test_answers_agree_with_the_story(task):
    """With stories that start at the beginning (max_story large), the text alone gives the answer."""
    for ex in qa_stories(task, 150, seed=1, max_story=100):
        place, holder, dropped_at = replay(ex.story)
        q = ex.question
        if task == "single-fact":
            assert ex.answer == place[q[2]]
        elif task == "yes-no":
            assert ex.answer == ("yes" if place[q[1]] == q[4] else "no")
        elif task == "two-facts":
            obj = q[3]
            assert ex.answer == (place[holder[obj]] if obj in holder else dropped_at[obj])
        else:
            person = q[4] if task == "counting" else q[2]
            carried = sorted(o for o, p in holder.items() if p == person)
            expected = NUMBERS[len(carried)] if task == "counting" else (",".join(carried) or "nothing")
            assert ex.answer == expected
        assert all(0 <= s < len(ex.story) for s in ex.support)


def test_supporting_facts_name_the_deciding_sentences():
    for ex in qa_stories("two-facts", 50, seed=2, max_story=100):
        facts = [" ".join(ex.story[s]) for s in ex.support]
        obj = ex.question[3]
        assert len(facts) == 2 and any(obj in f for f in facts) and any(ex.answer in f for f in facts)


def test_memory_window_keeps_support_inside():
    for ex in qa_stories("two-facts", 100, seed=0, max_story=5):
        assert len(ex.story) <= 5 and all(s < len(ex.story) for s in ex.support)


def test_answers_are_balanced_enough_to_need_the_story():
    for task in ("yes-no", "counting"):
        answers = [ex.answer for ex in qa_stories(task, 400, seed=5)]
        top = max(answers.count(a) for a in set(answers))
        assert top / len(answers) < 0.7


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown QA task"):
        qa_stories("path-finding", 3)
    with pytest.raises(ValueError, match="n and max_story"):
        qa_stories("yes-no", 0)
