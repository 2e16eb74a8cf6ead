"""A two-step ReLU Elman network small enough to do by hand (2 units, 3 inputs, no biases,
integer weights, h_0 ≠ 0): the influence matrices J_1, J_2 written out, and RTRL's gradient of
L = h_2[0] + h_2[1] equal to the hand computation and to BPTT's.

    W_ih = [[1, 0, −1], [0, 2, 1]],  W_hh = [[1, 1], [−2, 1]],  h_0 = [1, 2]
    x_1 = [1, 1, 0]:  a_1 = W_ih x_1 + W_hh h_0 = [1, 2] + [3, 0] = [4, 2],   h_1 = [4, 2],  f'_1 = [1, 1]
    x_2 = [0, 1, 1]:  a_2 = [−1, 3] + W_hh h_1 = [−1, 3] + [6, −6] = [5, −3], h_2 = [5, 0],  f'_2 = [1, 0]

Columns of J: W_ih[0, 0..2], W_ih[1, 0..2], W_hh[0, 0..1], W_hh[1, 0..1] (the parameters'
row-major order). M̄_t[k, W_ih[k, j]] = f'_{t,k} x_{t,j}, M̄_t[k, W_hh[k, j]] = f'_{t,k} h_{t−1,j}.

    J_1 = M̄_1 = [[1, 1, 0,  0, 0, 0,  1, 2,  0, 0],        (J_0 = 0)
                 [0, 0, 0,  1, 1, 0,  0, 0,  1, 2]]
    D_2 = diag(f'_2) W_hh = [[1, 1], [0, 0]]
    M̄_2 = [[0, 1, 1,  0, 0, 0,  4, 2,  0, 0],
           [0, 0, 0,  0, 0, 0,  0, 0,  0, 0]]                (unit 2 is off: f'_{2,2} = 0)
    J_2 = D_2 J_1 + M̄_2 = [[1, 2, 1,  1, 1, 0,  5, 4,  1, 2],
                           [0, 0, 0,  0, 0, 0,  0, 0,  0, 0]]
    ∂L/∂θ = [1, 1] J_2 = [1, 2, 1,  1, 1, 0,  5, 4,  1, 2]

By hand, e.g. ∂h_{2,0}/∂W_hh[0, 0] = h_{1,0} + W_hh[0, 0] ∂h_{1,0}/∂W_hh[0, 0] = 4 + 1·h_{0,0} = 5, and
∂h_{2,0}/∂W_ih[1, 0] = W_hh[0, 1] ∂h_{1,1}/∂W_ih[1, 0] = 1 · x_{1,0} = 1.
"""
import torch

from rnnlab.cells.elman import ElmanCell
from rnnlab.layers.recurrent import Recurrent
from rnnlab.train.rtrl import RTRL

J1 = [[1, 1, 0, 0, 0, 0, 1, 2, 0, 0],
      [0, 0, 0, 1, 1, 0, 0, 0, 1, 2]]
J2 = [[1, 2, 1, 1, 1, 0, 5, 4, 1, 2],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
GRAD = [1, 2, 1, 1, 1, 0, 5, 4, 1, 2]


def network():
    cell = ElmanCell(3, 2, activation="relu", bias=False).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1, 0, -1], [0, 2, 1]]))
        cell.weight_hh.copy_(torch.tensor([[1, 1], [-2, 1]]))
    x = torch.tensor([[[1, 1, 0]], [[0, 1, 1]]], dtype=torch.float64)  # (T=2, B=1, 3)
    h0 = torch.tensor([[1, 2]], dtype=torch.float64)
    return cell, x, h0


def test_influence_matrices_and_gradient_by_hand():
    cell, x, h0 = network()
    eng = RTRL(cell, "rtrl")
    eng.reset(1, h0)
    h1 = eng.step(x[0])
    assert h1.tolist() == [[4, 2]]
    assert eng.influence[0][0].tolist() == J1
    h2 = eng.step(x[1])
    assert h2.tolist() == [[5, 0]]
    assert eng.influence[0][0].tolist() == J2
    eng.backward(torch.ones(1, 2, dtype=torch.float64))  # L = h_2[0] + h_2[1]: c_2 = [1, 1]
    got = torch.cat([eng.grads[cell.weight_ih].flatten(), eng.grads[cell.weight_hh].flatten()])
    assert got.tolist() == GRAD


def test_worked_example_equals_bptt():
    cell, x, h0 = network()
    y, _ = Recurrent(cell)(x, h0)
    y[-1].sum().backward()
    assert torch.cat([cell.weight_ih.grad.flatten(), cell.weight_hh.grad.flatten()]).tolist() == GRAD
