"""What the torch.nn drop-ins (torch_compat.py) check, with torch.nn's rules and exception types.

torch.nn.RNNBase validates its constructor arguments with TypeError / ValueError and its inputs
with RuntimeError (a wrong feature size or state shape) or ValueError (a wrong number of
dimensions, a dtype unlike the weights'). Code written against torch.nn catches those, so the drop-ins raise the same types;
the input errors are `TorchInputError`, which is a ValueError too (what rnnlab's own layers raise
for the same mistakes), with rnnlab's messages.
"""
from __future__ import annotations

import numbers
import warnings

from torch import Tensor


class TorchInputError(ValueError, RuntimeError):
    """A bad input or state for a torch.nn drop-in: catchable as torch.nn's RuntimeError and as the
    ValueError rnnlab's layers raise."""


class TorchDtypeError(TypeError, ValueError):
    """Input dtype unlike the parameters': torch.nn raises ValueError, rnnlab's layers TypeError."""


def check_constructor(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size) -> None:
    """torch.nn.RNNBase's argument checks, in its order, with its messages and types."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value, kind in [("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int)]:
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if not isinstance(num_layers, int) or isinstance(num_layers, bool):
        raise TypeError(f"num_layers should be of type int, got: {type(num_layers).__name__}")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def check_input(where: str, x: Tensor, input_size: int, dtype) -> None:
    """x: a 2-D or 3-D floating tensor with `input_size` features, of the parameters' dtype."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: input must be a tensor or a PackedSequence, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        # torch.nn raises ValueError here, RuntimeError for the size checks below
        raise ValueError(f"{where}: Expected input to be 2D or 3D, got {x.dim()}D tensor instead")
    if x.shape[-1] != input_size:
        raise TorchInputError(
            f"{where}: input.size(-1) must be equal to input_size. Expected {input_size}, got {x.shape[-1]}"
        )
    if dtype is not None and x.dtype != dtype:
        raise TorchDtypeError(f"{where}: input dtype {x.dtype} does not match parameter dtype {dtype} (convert one with .to())")


def check_state(where: str, name: str, got, want: tuple[int, ...], unbatched: bool) -> None:
    """One part of hx (h_0 or c_0) must be a tensor of shape `want` (2-D for unbatched input)."""
    if not isinstance(got, Tensor):
        raise TypeError(f"{where}: {name} must be a tensor, got {type(got).__name__}")
    if unbatched and got.dim() != 2:
        raise TorchInputError(f"{where}: For unbatched 2-D input, {name} should also be 2-D but got {got.dim()}-D tensor")
    if not unbatched and got.dim() != 3:
        raise TorchInputError(f"{where}: For batched 3-D input, {name} should also be 3-D but got {got.dim()}-D tensor")
    if tuple(got.shape) != tuple(want):
        raise TorchInputError(f"{where}: {name} must have shape {tuple(want)}, got {tuple(got.shape)}")
