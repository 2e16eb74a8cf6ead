"""The explorer for frame- and signal-level runs (kind "signal"): what `record_utterance` and
`record_signal` record is what the models computed (TDNN layer outputs, sub-sampling, a recurrent
encoder's states, the running posterior whose last row is the model's answer, NARX free-run and
one-step outputs), and the digits and NARX recipes' explorers serve their test data and typed input."""
import json

import numpy as np
import pytest
import torch

from rnnlab.cli.main import main
from rnnlab.data.audio import write_wav
from rnnlab.datasets.tones import RATE, synthesise
from rnnlab.errors import ConfigError, DataError
from rnnlab.explore.export import page_data
from rnnlab.explore.record_signal import prefix_posteriors, record_signal, record_utterance
from rnnlab.recipes.recipe import ExploreRequest
from rnnlab.recipes.registry import recipe_of
from rnnlab.recipes.run_dir import RunDir
from rnnlab.speech.model import UtteranceClassifier
from rnnlab.sysid.model import SignalModel


def utterance(T=23, F=6, seed=0):
    return torch.randn(T, F, generator=torch.Generator().manual_seed(seed))


def test_tdnn_recording_is_the_layers_outputs_and_the_answer():
    torch.manual_seed(0)
    model = UtteranceClassifier.build(6, 4, encoder="tdnn", hidden_size=5, num_layers=3,
                                      context=[[-1, 0, 1], [-2, 0, 2], [0]], stride=2, pool="stats").eval()
    x = utterance()
    rec = record_utterance(model, x, hop_s=0.01)
    assert len(rec) == 23 and rec.tokens[:3] == ["0.00", "0.01", "0.02"]
    assert rec.keys() == ["input/features", "encoder.layers.0/h", "encoder.layers.1/h", "encoder.layers.2/h",
                          "output/p"]
    np.testing.assert_array_equal(rec.values["input/features"], x.numpy())
    # the layers by hand, one after another
    h0, _ = model.encoder.layers[0](x[:, None], torch.tensor([23]))
    h1, _ = model.encoder.layers[1](h0, torch.tensor([23]))
    h2, l2 = model.encoder.layers[2](h1, torch.tensor([23]))  # stride 2: 12 output frames
    np.testing.assert_allclose(rec.values["encoder.layers.0/h"], h0[:, 0].detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(rec.values["encoder.layers.1/h"], h1[:, 0].detach().numpy(), atol=1e-6)
    top = rec.values["encoder.layers.2/h"]
    assert int(l2) == 12 and top.shape == (23, 5)
    for t in range(23):  # input frame t shows output frame t // 2
        np.testing.assert_allclose(top[t], h2[t // 2, 0].detach().numpy(), atol=1e-6)
    p = rec.values["output/p"]
    assert p.shape == (23, 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    with torch.no_grad():
        answer = torch.softmax(model(x[:, None]), -1)[0].numpy()
    np.testing.assert_allclose(p[-1], answer, atol=1e-5)
    assert not model.encoder.record_frames  # switched back off


@pytest.mark.parametrize("pool", ["mean", "last", "attention", "max"])
def test_running_posterior_of_a_forward_lstm_is_the_model_on_each_prefix(pool):
    """For a left-to-right encoder, row t of output/p is exactly the model's answer on frames 0..t."""
    torch.manual_seed(1)
    model = UtteranceClassifier.build(6, 3, encoder="lstm", hidden_size=4, num_layers=2, pool=pool).eval()
    x = utterance(T=9)
    rec = record_utterance(model, x)
    assert "encoder.layers.1/c" in rec.values and "encoder.layers.0/h" in rec.values
    with torch.no_grad():
        for t in range(9):
            want = torch.softmax(model(x[: t + 1, None]), -1)[0].numpy()
            np.testing.assert_allclose(rec.values["output/p"][t], want, atol=1e-5)


def test_prefix_posteriors_in_chunks(monkeypatch):
    import rnnlab.explore.record_signal as rs
    torch.manual_seed(2)
    model = UtteranceClassifier.build(6, 3, encoder="gru", hidden_size=4, num_layers=1, pool="mean").eval()
    h = torch.randn(10, 4)
    whole = prefix_posteriors(model, h)
    monkeypatch.setattr(rs, "PREFIX_CHUNK", 3)
    torch.testing.assert_close(prefix_posteriors(model, h), whole)


def test_narx_signal_recording_free_run_and_one_step():
    torch.manual_seed(3)
    model = SignalModel.build(1, 1, model="narx", hidden_size=5, input_delays=2, output_delays=2, teacher=True,
                              head=False).eval()
    x, y = torch.randn(15, 1), torch.randn(15, 1)
    rec = record_signal(model, x, y)
    assert {"encoder/hidden", "encoder/y", "io/input", "io/output", "io/target", "io/one-step"} <= set(rec.keys())
    with torch.no_grad():
        free = model(x[:, None])[:, 0].numpy()
        one = model(x[:, None], y=y[:, None], teacher_prob=1.0)[:, 0].numpy()
    np.testing.assert_allclose(rec.values["io/output"], free, atol=1e-6)
    np.testing.assert_allclose(rec.values["io/one-step"], one, atol=1e-6)
    np.testing.assert_allclose(rec.values["encoder/y"], free, atol=1e-6)  # the fed-back outputs are ŷ
    assert not np.allclose(free, one)
    assert rec.tokens[0] == f"{float(x[0, 0]):.2f}"
    elman = SignalModel.build(1, 1, model="elman", hidden_size=3).eval()
    rec = record_signal(elman, x)
    assert "io/target" not in rec.values and rec.values["encoder.layers.0/h"].shape == (15, 3)
    with pytest.raises(DataError, match="signal"):
        record_signal(elman, torch.zeros(4, 2))
    with pytest.raises(DataError, match="empty"):
        record_signal(elman, torch.zeros(0, 1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    made = {}
    for name, args in {"tdnn": ["--task", "digits", "--takes", "11", "--epochs", "1", "--hidden", "8", "--layers", "2",
                                "--stride", "2"],
                       "plant": ["--task", "narx-plant", "--epochs", "1", "--signal-steps", "200"],
                       "latching": ["--task", "latching", "--epochs", "1", "--examples", "16", "--length", "4"]}.items():
        out = tmp_path_factory.mktemp("runs") / name
        assert main(["train", *args, "--no-progress", "--out", str(out)]) == 0
        made[name] = out
    torch.set_num_threads(threads)
    return made


def explorer_of(path, **request):
    recipe, _ = recipe_of(RunDir(path))
    return recipe.explorer(recipe.load(RunDir(path)), ExploreRequest(**request))


def test_digits_explorer_shows_test_recordings_every_digit_first(runs, tmp_path):
    ex = explorer_of(runs["tdnn"], examples=12)
    info = ex.info()
    assert info["kind"] == "signal" and info["about"]["classes"] == [str(d) for d in range(10)]
    names = [e["name"] for e in info["examples"]]
    assert [n.split("_")[0] for n in names[:10]] == [str(d) for d in range(10)] and len(names) == 12
    assert all(int(n.split("_")[2]) < 5 for n in names)  # the own split's test takes
    assert info["units"]["encoder.layers.1/h"] == 8 and info["units"]["output/p"] == 10
    # a typed WAV path is recorded like the others; the answer matches `rnnlab classify`
    wav = tmp_path / "four.wav"
    write_wav(wav, synthesise("4", "ann", 77), RATE)
    got = ex.analyze(str(wav), keys=["output/p"])
    recipe, _ = recipe_of(RunDir(runs["tdnn"]))
    label, probs = recipe.load(RunDir(runs["tdnn"])).predictor.predict_files([wav])[0]
    assert np.allclose(got["values"]["output/p"][-1], [probs[c] for c in info["about"]["classes"]], atol=1e-4)
    with pytest.raises(DataError, match="no such WAV"):
        ex.analyze(str(tmp_path / "missing.wav"))
    # --text: one WAV or a list of them
    listing = tmp_path / "list.txt"
    listing.write_text(f"{wav}\n{wav}\n")
    assert len(explorer_of(runs["tdnn"], text=str(wav)).examples()) == 1
    assert len(explorer_of(runs["tdnn"], text=str(listing)).examples()) == 2
    with pytest.raises(ConfigError, match="recordings"):
        explorer_of(runs["tdnn"], dataset="counting")
    data = page_data(ex)  # the static export carries every key
    assert set(data["examples"]["0"]["values"]) == set(info["keys"])
    json.dumps(data, allow_nan=False)


def test_narx_explorers_show_signals_and_take_typed_numbers(runs):
    ex = explorer_of(runs["plant"], max_tokens=300)
    info = ex.info()
    assert [e["name"] for e in info["examples"]] == ["test (sine)", "test-random"]
    assert all(e["length"] == 300 for e in info["examples"])
    assert {"io/input", "io/output", "io/target", "io/one-step", "encoder/hidden"} <= set(info["keys"])
    typed = ex.analyze("0.5 -1 0.3 0.2", keys=["io/output", "io/target"])
    assert typed["tokens"] == ["0.50", "-1.00", "0.30", "0.20"] and len(typed["values"]["io/output"]) == 4
    assert [r[0] for r in typed["values"]["io/target"]] == pytest.approx([0.0, 0.0, 0.3, 0.2])  # y_2 = x_2; y_3 = 0 + x_3
    assert not typed["unknown"]
    with pytest.raises(DataError, match="numbers"):
        ex.analyze("zero one")
    lat_ex = explorer_of(runs["latching"], examples=4)
    lat = lat_ex.info()
    assert len(lat["examples"]) == 4 and lat["examples"][0]["name"].startswith("class ")
    assert lat["examples"][0]["length"] == 3 + 4
    assert lat_ex.analyze("1 -1 -1 0.1", keys=["io/target"])["values"]["io/target"] == [[0.0]] * 4
    assert lat_ex.analyze("1 1 -1 0.1", keys=["io/target"])["values"]["io/target"] == [[1.0]] * 4
    with pytest.raises(ConfigError, match="generated test signals"):
        explorer_of(runs["latching"], text="x.txt")


def test_plant_response_is_what_plant_signals_score_against():
    from rnnlab.datasets.plant import plant_response, plant_signals
    s = plant_signals(60, "random", noise=0.3, seed=5)
    torch.testing.assert_close(plant_response(s.x), s.clean, atol=1e-5, rtol=1e-5)
    assert plant_response(torch.tensor([0.7])).shape == (1, 1)
