"""RTRL (the notes' sum run forward in time) against BPTT, four ways, every parameter.

Autodiff reverse (backward on the unrolled graph), autodiff forward (one mg.jvp per parameter
entry through the same graph), the numpy RTRL of models/rtrl.py and the closed-form BPTT of
models/bptt.py must give the same gradient, to 1e-10 relative in float64.
"""

import itertools
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from models import RNN
from models.bptt import bptt
from models.rtrl import rtrl

T, B, D, H, O = 4, 2, 2, 3, 3
NAMES = ("V", "W", "U", "b_h", "b_y", "h0")


def rel_error(g, ref):
    return np.linalg.norm(g - ref) / max(np.linalg.norm(ref), 1e-300)


def problem(f_h, loss, seed=0):
    rng = np.random.default_rng(seed)
    rnn = RNN(D, H, O, f_h=f_h, seed=seed)
    params = {name: rng.uniform(-0.8, 0.8, getattr(rnn, name).shape) for name in NAMES[:5]}
    params["h0"] = rng.uniform(-0.5, 0.5, (B, H))
    xs = rng.standard_normal((T, B, D))
    targets = (rng.integers(0, O, (T, B)) if loss == "cross_entropy"
               else rng.standard_normal((T, B, O)))
    return rnn, params, xs, targets


def loss_of(rnn, xs, targets, loss):
    """The total loss as a function of the parameters' Tensors, through the model's own step."""
    def f(*tensors):
        named = dict(zip(NAMES, tensors))
        for name in NAMES[:5]:
            setattr(rnn, name, named[name])
        ys, _ = rnn(xs, named["h0"])
        return rnn.loss(ys, targets, loss)
    return f


def forward_mode_gradient(f, arrays):
    """dL/dtheta entry by entry: the JVP of L along each unit tangent (forward mode)."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros(a.size)
        for i in range(a.size):
            tangents = [np.zeros_like(b) for b in arrays]
            tangents[k].flat[i] = 1.0
            _, pushed = mg.jvp(f, [mg.Tensor(b) for b in arrays], tangents)
            g[i] = pushed.item()
        grads.append(g.reshape(a.shape))
    return grads


@pytest.mark.parametrize("f_h,loss", list(itertools.product(("tanh", "sigmoid", "relu"),
                                                            ("squared_error", "cross_entropy"))))
def test_four_ways_give_the_same_gradient(f_h, loss):
    rnn, params, xs, targets = problem(f_h, loss)
    f = loss_of(rnn, xs, targets, loss)
    arrays = [params[name] for name in NAMES]
    leaves = [mg.Tensor(a, requires_grad=True) for a in arrays]
    f(*leaves).backward()
    reverse = {name: t.grad for name, t in zip(NAMES, leaves)}
    forward = dict(zip(NAMES, forward_mode_gradient(f, arrays)))
    weights = {name: params[name] for name in NAMES[:5]}
    numpy_rtrl = rtrl(weights, xs, targets, params["h0"], f_h, "identity", loss)
    closed = bptt(weights, xs, targets, params["h0"], f_h, "identity", loss)
    for name in NAMES:
        for label, got in (("reverse", reverse), ("forward", forward), ("rtrl", numpy_rtrl)):
            assert rel_error(got[name], closed[name]) < 1e-10, (label, name)


@pytest.mark.parametrize("t", [1, 3])
def test_rtrl_of_one_steps_loss_matches_bptt(t):
    _, params, xs, targets = problem("tanh", "squared_error", seed=2)
    weights = {name: params[name] for name in NAMES[:5]}
    got = rtrl(weights, xs, targets, params["h0"], "tanh", "identity", "squared_error", t=t)
    ref = bptt(weights, xs, targets, params["h0"], "tanh", "identity", "squared_error", t=t)
    assert set(got) == set(ref)
    for name in ref:
        assert rel_error(got[name], ref[name]) < 1e-10, name


def test_rtrl_with_softmax_outputs_and_float32_keeps_the_dtype():
    _, params, xs, targets = problem("tanh", "cross_entropy", seed=4)
    weights = {name: params[name].astype(np.float32) for name in NAMES[:5]}
    got = rtrl(weights, xs.astype(np.float32), targets, None, "tanh", "softmax", "cross_entropy")
    ref = bptt(weights, xs.astype(np.float32), targets, None, "tanh", "softmax", "cross_entropy")
    for name in ref:
        assert got[name].dtype == np.float32
        assert rel_error(got[name], ref[name]) < 1e-5, name


def test_rtrl_checks_its_inputs_as_bptt_does():
    _, params, xs, targets = problem("tanh", "squared_error")
    weights = {name: params[name] for name in NAMES[:5]}
    with pytest.raises(ValueError, match="f_h must be one of"):
        rtrl(weights, xs, targets, None, "softplus", "identity", "squared_error")


def test_the_bptt_command_compares_autodiff_with_rtrl(tmp_path):
    out = tmp_path / "rnn.svg"
    result = subprocess.run(
        [sys.executable, "-m", "minigrad", "bptt", "--method", "rtrl", "--seq-len", "5",
         "--hidden", "4", "--f-h", "sigmoid", "--out", str(out)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "max |autodiff - rtrl|" in result.stdout
    assert "autodiff on the unrolled graph and numpy RTRL agree" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ("U", "V", "W", "b_h", "b_y", "h_0")]
    assert len(rows) == 6 and all(float(row[3]) < 1e-10 for row in rows)
    assert out.exists()
