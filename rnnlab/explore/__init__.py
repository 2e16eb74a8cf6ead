"""The explorer: look inside trained recurrent networks (LSTMVis; Karpathy et al. 2015).

record         `Recorder` puts a step hook on every Recurrent layer and keeps h and every cell
               internal (an LSTM's c and gates, a GRU's gates) per step — the values the layer
               computed, nothing re-run; `record_language_model` / `record_examples` give
               display-ready `Recording`s.
record_tagger  the same for a sequence tagger, beside its predicted and gold tags (and intent).
hypotheses     one number per token a unit might track (regex, counter, position, any function;
               presets for text, and the synthetic datasets' own)
search         `rank_units` by correlation with a hypothesis;
               LSTMVis select (`select_units`) and match (`find_matches`).
saturation     gate saturation statistics and their plot (Karpathy et al. 2015, Fig. 3).
service        `Explorer`: one model's recorded examples and the page's requests (analyze, search,
               select) as plain values, no HTTP; `tagger_explorer` for taggers.
http           the JSON API and static page over an `Explorer` (`make_server`, `url_of`).
export         the page and its data as one self-contained HTML file.

Importing this package does not import matplotlib (only `plot_saturation` does) nor the server.

Interface notes for the page:
- `Recording.to_json(*, keys=None)`: `keys` picks which "{layer}/{kind}" values to include (a full
  20,000-token recording of a 256-unit layer is ~45 MB of JSON per key). Output:
  {"tokens", "values": {key: [[T][units]]}, "predictions": [[[token, p], ...] per position] | None,
  "targets": [token | None], "labels": [label] | None (taggers: `record_tagger`)}. `len(recording)` is T.
- `record_examples(..., top_k=5)`; `rank_units(..., top=None)` and `find_matches(..., top=None)`
  return everything; for a list of recordings `rank_units` takes one hypothesis array per recording.
- `suggest_threshold(values, start, end, fraction=0.1)`: the k-th largest per-unit minimum over the
  span, k = max(1, round(fraction * units)), so about that fraction of units pass `select_units`.
- `saturation_json(stats)` → {"kinds": {"i"|"f"|"o"|"r"|"z": [{"key", "layer", "left": [units],
  "right": [units]}, ...]}}, kinds in that order.
- Errors: `Recorder(model)` without Recurrent layers → ConfigError; hypotheses, ranking, selection
  and matching raise DataError with a message fit for the page (bad regex, constant hypothesis,
  span outside the text, unknown unit).
"""
from rnnlab.explore.record import MAX_TOKENS, Recorder, Recording, record_examples, record_language_model
from rnnlab.explore.record_tagger import record_tagger
from rnnlab.explore.saturation import gate_saturation, plot_saturation, saturation_json
from rnnlab.explore.hypotheses import (
    counter_hypothesis, dataset_hypotheses, function_hypothesis, position_hypothesis, preset_hypotheses, regex_hypothesis,
)
from rnnlab.explore.search import Match, UnitScore, find_matches, rank_units, select_units, suggest_threshold, value_distribution

__all__ = [
    "Recorder", "Recording", "record_language_model", "record_examples", "record_tagger", "MAX_TOKENS",
    "regex_hypothesis", "counter_hypothesis", "preset_hypotheses", "dataset_hypotheses", "position_hypothesis", "function_hypothesis",
    "rank_units", "UnitScore", "select_units", "value_distribution", "suggest_threshold", "find_matches", "Match",
    "gate_saturation", "plot_saturation", "saturation_json",
]
