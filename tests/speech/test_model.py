"""The utterance classifier: padding never matters (TDNN with sub-sampling, LSTM, BiLSTM), config
round trip, bad configurations named; the task's confusion matrix; the spoken-digit splits and the
FSDD reader (on the real data only when RNNLAB_BENCHMARK_DATA is set)."""
import pytest
import torch

from rnnlab.data.spoken_digits import Recording, digit_splits, read_digit_dir
from rnnlab.datasets.tones import RATE, tone_digits
from rnnlab.errors import ConfigError, DataError
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.speech.task import UtteranceTask, pad_frames


@pytest.mark.parametrize("kw", [dict(encoder="tdnn", stride=2, pool="stats"), dict(encoder="tdnn", pool="max"),
                                dict(encoder="lstm", pool="last", num_layers=2),
                                dict(encoder="lstm", bidirectional=True, pool="mean", num_layers=1),
                                dict(encoder="gru", pool="attention", num_layers=1)])
def test_an_utterance_alone_equals_it_in_a_padded_batch(kw):
    torch.manual_seed(0)
    model = UtteranceClassifier.build(5, 4, hidden_size=6, **kw).double().eval()
    a, b = torch.randn(9, 5, dtype=torch.float64), torch.randn(4, 5, dtype=torch.float64)
    frames, lengths = pad_frames([a, b])
    frames[4:, 1] = float("nan")  # padding may hold anything
    batch = model(frames, lengths)
    torch.testing.assert_close(batch[1], model(b.unsqueeze(1))[0])
    torch.testing.assert_close(batch[0], model(a.unsqueeze(1))[0])
    again = UtteranceClassifier.from_config(model.config()).double()
    again.load_state_dict(model.state_dict())
    torch.testing.assert_close(again.eval()(frames, lengths), batch)


def test_bad_configurations_are_named():
    with pytest.raises(ConfigError, match="TDNN already sees both sides"):
        UtteranceClassifier.build(5, 4, bidirectional=True)
    with pytest.raises(ConfigError, match="pool 'last' is for recurrent"):
        UtteranceClassifier.build(5, 4, pool="last")
    with pytest.raises(ConfigError, match="offsets for 1 layers, but num_layers is 3"):
        UtteranceClassifier.build(5, 4, context=[[0]])
    with pytest.raises(ConfigError, match="unknown cell"):
        UtteranceClassifier.build(5, 4, encoder="nope")


def test_task_confusion_matrix_counts_every_example():
    torch.manual_seed(1)
    examples = [(torch.randn(int(torch.randint(3, 9, ())), 5), i % 3) for i in range(20)]
    task = UtteranceTask({"train": examples, "test": examples}, ["a", "b", "c"], batch_size=4, eval_batch_size=6)
    model = UtteranceClassifier.build(5, 3, hidden_size=4, num_layers=1)
    metrics, confusion = task.evaluate_with_confusion(model, "test")
    assert int(confusion.sum()) == 20 and confusion.sum(1).tolist() == [7, 7, 6]
    assert metrics["accuracy"] == pytest.approx(float(confusion.diag().sum()) / 20)
    with pytest.raises(DataError, match="class id 3"):
        UtteranceTask({"train": [(torch.zeros(2, 5), 3)]}, ["a", "b", "c"])


def test_splits_own_and_leave_one_speaker_out():
    recs = [Recording("", str(d), s, k) for s in ("x", "y") for d in range(10) for k in range(12)]
    own = digit_splits(recs, "own")
    assert {r.take for r in own["test"]} == set(range(5)) and {r.take for r in own["valid"]} == set(range(5, 10))
    assert {r.take for r in own["train"]} == {10, 11}
    loso = digit_splits(recs, "speaker:y")
    assert {r.speaker for r in loso["test"]} == {"y"} and len(loso["test"]) == 120
    assert {r.speaker for r in loso["train"] + loso["valid"]} == {"x"}
    with pytest.raises(ConfigError, match="no speaker 'z'"):
        digit_splits(recs, "speaker:z")


def test_generated_tones_are_deterministic_and_speaker_dependent():
    a, b = tone_digits(1, ("ann",)), tone_digits(1, ("ann",))
    assert len(a) == 10 and all(torch.equal(x.samples, y.samples) for x, y in zip(a, b))
    assert a[0].rate == RATE and 0.3 < len(a[0].samples) / RATE < 1.0
    assert not torch.equal(tone_digits(1, ("bob",))[0].samples[:100], a[0].samples[:100])


def test_reads_the_free_spoken_digit_dataset(benchmark_data):
    recs = read_digit_dir(benchmark_data("fsdd"))
    assert len(recs) == 3000 and len({r.speaker for r in recs}) == 6
    splits = digit_splits(recs, "own")
    assert len(splits["test"]) == 300 and len(splits["train"]) + len(splits["valid"]) == 2700
