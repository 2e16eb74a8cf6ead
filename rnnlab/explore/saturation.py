"""Gate saturation (Karpathy et al. 2015, Fig. 3): how often each gate unit is nearly shut or open.

For every gate (LSTM i, f, o; GRU r, z) and unit: the fraction of steps it is left-saturated
(< low, e.g. a forget gate that resets its cell) and right-saturated (> high, one that keeps it).
Units near the right edge of a forget-gate plot are the long-memory "integrators"; a gate that is
never saturated sits in the middle, behaving like a leaky average.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.errors import DataError
from rnnlab.explore.record import Recording

GATE_KINDS = ("i", "f", "o", "r", "z")  # sigmoid gates; the candidates g, n are tanh, not gates


def gate_saturation(values: dict[str, np.ndarray] | Recording | list[Recording], low: float = 0.1,
                    high: float = 0.9) -> dict[str, dict[str, np.ndarray]]:
    """"{layer}/{gate}" → {"left": (units,), "right": (units,)}: fractions of steps < low and > high.

    `values` is a Recording's kind of dict ("{layer}/{kind}" → (T, units)), a Recording, or a list
    of them (their steps are pooled). Keys whose kind is not a gate are skipped.
    """
    if not 0.0 <= low < high <= 1.0:
        raise DataError(f"need 0 <= low < high <= 1, got low={low}, high={high}")
    if isinstance(values, Recording):
        values = [values]
    if isinstance(values, (list, tuple)):
        if not values:
            raise DataError("no recordings given")
        values = {k: np.concatenate([r.values[k] for r in values]) for k in values[0].values}
    stats = {}
    for key, v in values.items():
        if key.rsplit("/", 1)[-1] not in GATE_KINDS:
            continue
        v = np.asarray(v)
        v = v.reshape(-1, v.shape[-1])  # (steps, units)
        stats[key] = {"left": (v < low).mean(0), "right": (v > high).mean(0)}
    if not stats:
        raise DataError(f"no gate values ({', '.join(GATE_KINDS)}) among {', '.join(values) or 'nothing'}")
    return stats


def _by_kind(stats: dict) -> dict[str, list[str]]:
    """gate kind → its keys, kinds in GATE_KINDS order."""
    kinds: dict[str, list[str]] = {}
    for key in stats:
        kinds.setdefault(key.rsplit("/", 1)[-1], []).append(key)
    return {k: kinds[k] for k in GATE_KINDS if k in kinds}


def plot_saturation(stats: dict[str, dict[str, np.ndarray]], path) -> Path:
    """Scatter per gate kind: x = left-saturated, y = right-saturated fraction; a dot per unit,
    coloured by layer. Written as PNG to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {"i": "input gate", "f": "forget gate", "o": "output gate", "r": "reset gate", "z": "update gate"}
    kinds = _by_kind(stats)
    layers = sorted({key.rsplit("/", 1)[0] for key in stats})
    colours = {layer: plt.get_cmap("tab10")(k % 10) for k, layer in enumerate(layers)}
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3.4), squeeze=False)
    for ax, (kind, keys) in zip(axes[0], kinds.items()):
        ax.plot([0, 1], [1, 0], color="0.8", lw=1, zorder=0)  # x + y = 1: always saturated
        for key in keys:
            layer = key.rsplit("/", 1)[0]
            ax.scatter(stats[key]["left"], stats[key]["right"], s=12, alpha=0.7, color=colours[layer], label=layer)
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), title=names[kind], xlabel="fraction left-saturated")
    axes[0][0].set_ylabel("fraction right-saturated")
    if len(layers) > 1:
        axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return path


def saturation_json(stats: dict[str, dict[str, np.ndarray]]) -> dict:
    """For the web page: {"kinds": {kind: [{"key", "layer", "left": [...], "right": [...]}, ...]}},
    kinds in the order i, f, o, r, z, fractions rounded to 4 decimals."""
    return {"kinds": {
        kind: [{"key": key, "layer": key.rsplit("/", 1)[0],
                "left": np.round(np.asarray(stats[key]["left"], dtype=np.float64), 4).tolist(),
                "right": np.round(np.asarray(stats[key]["right"], dtype=np.float64), 4).tolist()}
               for key in keys]
        for kind, keys in _by_kind(stats).items()
    }}
