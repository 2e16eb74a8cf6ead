"""Cells refuse what they cannot use when made or at the first step, naming the problem: sizes
(one helper, `check_size`, for every constructor), per-unit wrappers around cells whose state
leaves differ in width, per-unit values of the wrong length, states of the wrong structure or dtype."""
import pytest
import torch

import rnnlab
from rnnlab.cells import (ClockworkCell, DeepOutput, DeepTransition, ElmanCell, FeedForwardCell, GRUCell,
                          JordanCell, LeakyCell, LSTMCell, RecurrentDropout, SkipCell, Zoneout)

CONSTRUCTORS = {
    "ElmanCell": lambda d, h: ElmanCell(d, h),
    "LSTMCell": lambda d, h: LSTMCell(d, h),
    "GRUCell": lambda d, h: GRUCell(d, h),
    "JordanCell": lambda d, h: JordanCell(d, h, 3),
    "FeedForwardCell": lambda d, h: FeedForwardCell(d, h),
}


@pytest.mark.parametrize("name", CONSTRUCTORS)
@pytest.mark.parametrize("which", ["input_size", "hidden_size"])
@pytest.mark.parametrize("bad, error", [(-2, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError),
                                        ("4", TypeError), (None, TypeError)])
def test_sizes_are_checked_when_made(name, which, bad, error):
    sizes = {"input_size": 4, "hidden_size": 3, which: bad}
    with pytest.raises(error, match=f"{name}: {which} must be"):
        CONSTRUCTORS[name](sizes["input_size"], sizes["hidden_size"])


@pytest.mark.parametrize("make, message", [
    (lambda: JordanCell(3, 4, 0), "JordanCell: output_size must be >= 1"),
    (lambda: LSTMCell(3, 4, proj_size=1.5), "LSTMCell: proj_size must be an int"),
    (lambda: LSTMCell(3, 4, forget_bias=float("nan")), "forget_bias must be a finite"),
    (lambda: SkipCell(ElmanCell(3, 4), 1.5), "SkipCell: delay must be an int"),
    (lambda: SkipCell(ElmanCell(3, 4), 0), "SkipCell: delay must be >= 1"),
    (lambda: ClockworkCell(ElmanCell(3, 4), [1, 2.5]), "ClockworkCell: every period must be an int"),
    (lambda: ClockworkCell(ElmanCell(3, 4), []), "at least one period"),
    (lambda: DeepTransition(ElmanCell(3, 4), 0), "DeepTransition: depth must be >= 1"),
    (lambda: DeepOutput(ElmanCell(3, 4), [4, -1]), "DeepOutput: every layer size must be >= 1"),
    (lambda: LeakyCell(ElmanCell(3, 4), torch.full((3,), 0.5)), r"one value per state unit \(4\)"),
    (lambda: LeakyCell(ElmanCell(3, 4), [[0.5] * 4]), r"one value per state unit"),
    (lambda: Zoneout(ElmanCell(3, 4), float("nan")), "p must be in"),
    (lambda: RecurrentDropout(ElmanCell(3, 4), True), "p must be in"),
])
def test_wrapper_and_cell_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("wrap", [lambda c: LeakyCell(c, 0.5), lambda c: ClockworkCell(c, [1, 2])])
def test_per_unit_wrappers_refuse_an_lstm_with_a_projection(wrap):
    with pytest.raises(ValueError, match="projection"):
        wrap(LSTMCell(3, 4, proj_size=2))
    wrap(LSTMCell(3, 4))  # without a projection every leaf is state_size wide


@pytest.mark.parametrize("cell, state, error, message", [
    (GRUCell(3, 4), (torch.zeros(2, 4),), ValueError, "GRUCell: state: expected a tensor"),
    (LSTMCell(3, 4), (torch.zeros(2, 4), None), ValueError, r"LSTMCell: state\[1\]: expected a tensor"),
    (LSTMCell(3, 4), torch.zeros(2, 4), ValueError, "expected a tuple of 2 parts"),
    (ElmanCell(3, 4), torch.zeros(2, 4, dtype=torch.long), TypeError, "expected dtype torch.float32, got torch.int64"),
    (LSTMCell(3, 4).double(), (torch.zeros(2, 4), torch.zeros(2, 4)), TypeError, "expected dtype torch.float64"),
    (LSTMCell(3, 4).double(), (torch.zeros(2, 4, dtype=torch.long),) * 2, TypeError, "expected dtype torch.float64"),
    (ElmanCell(3, 4), torch.zeros(2, 5), ValueError, r"expected shape \(2, 4\)"),
    (JordanCell(3, 4, 2), torch.zeros(2, 2, dtype=torch.int32), TypeError, "expected dtype"),
])
def test_a_wrong_state_is_named_at_the_step(cell, state, error, message):
    x = torch.randn(2, 3, dtype=next(cell.parameters()).dtype)
    with pytest.raises(error, match=message):
        cell(x, state)
    with pytest.raises(error, match=message):  # and through a wrapper, whose inner cell checks
        Zoneout(cell, 0.1).eval()(x, state)


@pytest.mark.parametrize("state, error", [(torch.zeros(2, 4, dtype=torch.long), TypeError),
                                          ((torch.zeros(2, 4),), ValueError)])
def test_a_wrong_initial_state_is_named_by_the_layer(state, error):
    with pytest.raises(error, match="initial state"):
        rnnlab.Recurrent(GRUCell(3, 4))(torch.randn(5, 2, 3), state)


def test_a_clockwork_counter_must_stay_an_integer():
    cell = ClockworkCell(ElmanCell(3, 4), [1, 2])
    h, step = cell.init_state(2)
    with pytest.raises(TypeError, match=r"initial state\[1\]: expected dtype torch.int64"):
        rnnlab.Recurrent(cell)(torch.randn(5, 2, 3), (h, step.float()))
