"""Threads, in-place changes, hooks and the edge cases a user meets, checked from the outside."""

import gc
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor


# ---- modes are per thread -------------------------------------------------------------------
def _loss_and_grads(seed: int):
    rng = np.random.default_rng(seed)
    W = Tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    x = Tensor(rng.standard_normal((3, 4)))
    h = x
    for _ in range(5):
        h = (h @ W).tanh()
    loss = (h * h).sum()
    loss.backward()
    return loss.item(), W.grad


def test_no_grad_in_one_thread_never_changes_what_another_records():
    expected = {seed: _loss_and_grads(seed) for seed in range(20)}
    stop = threading.Event()
    failures = []

    def evaluate_forever():
        x = Tensor(np.ones((8, 8)), requires_grad=True)
        while not stop.is_set():
            with mg.no_grad():
                y = (x @ x).tanh()
                if y.requires_grad:
                    failures.append("no_grad result recorded a graph")

    def train():
        try:
            for _ in range(10):
                for seed, (loss, grad) in expected.items():
                    got_loss, got_grad = _loss_and_grads(seed)
                    if got_loss != loss or not np.array_equal(got_grad, grad):
                        failures.append(f"seed {seed}: gradient differs")
        except Exception as err:  # a missing graph raises in backward
            failures.append(repr(err))

    evaluator = threading.Thread(target=evaluate_forever)
    trainer = threading.Thread(target=train)
    evaluator.start()
    trainer.start()
    trainer.join()
    stop.set()
    evaluator.join()
    assert failures == []
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad  # still recording here


def test_a_new_thread_starts_with_grad_on_no_scope_and_anomaly_off():
    seen = {}

    def look():
        x = Tensor([1.0], requires_grad=True)
        y = x * 2
        seen.update(recorded=y.requires_grad, scope=y.scope,
                    anomaly=y._created_at is not None)

    with mg.no_grad(), mg.scope("outer"), mg.detect_anomaly():
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
    assert seen == {"recorded": True, "scope": "", "anomaly": False}


def test_one_scope_object_entered_twice_restores_each_outer_scope():
    step = mg.scope("t=1")
    with step:
        with step:
            assert Tensor(1.0).scope == "t=1/t=1"
        assert Tensor(1.0).scope == "t=1"
    assert Tensor(1.0).scope == ""


# ---- in-place changes are detected --------------------------------------------------------------
def test_an_in_place_change_of_a_saved_input_is_refused_by_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with mg.scope("t=2"):
        y = (x * x).sum()
    with mg.no_grad():
        x += 1
    assert x.version == 1
    with pytest.raises(RuntimeError, match=r"(?s)'mul' in scope 't=2'.*changed in place.*again"):
        y.backward()
    assert x.grad is None


def test_a_change_that_no_vjp_saved_is_allowed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x + 3.0).sum()  # add saves nothing: its gradient does not depend on x
    with mg.no_grad():
        x += 1
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_a_change_seen_through_a_transpose_is_refused():
    W = Tensor(np.eye(2), requires_grad=True, name="W")
    x = Tensor(np.ones((1, 2)))
    loss = (x @ W.T).tanh().sum()
    with mg.no_grad():
        W *= 2.0
    with pytest.raises(RuntimeError, match="'matmul'"):
        loss.backward()


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    W = Tensor(np.eye(2), requires_grad=True, name="W")
    loss = (Tensor(np.ones((1, 2))) @ W).tanh().sum()
    loss.backward(retain_graph=True)
    mg.optim.SGD([W], lr=0.1).step()
    with pytest.raises(RuntimeError, match="'W'.*changed in place"):
        loss.backward()


def test_writes_through_data_stay_unchecked():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data += 1  # documented: .data bypasses the version counter, as in PyTorch
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 6.0])  # 2 * the new values: the caller's risk
    assert x.version == 0


# ---- gradcheck never passes a NaN ---------------------------------------------------------------
def test_gradcheck_fails_loudly_when_the_analytic_gradient_is_nan():
    def broken(x):
        return mg.record_op("broken", x.data * 2, (x,), lambda g: (g * np.nan,))

    with pytest.raises(mg.GradcheckError, match="analytic gradient of input 0.*nan"):
        mg.gradcheck(lambda x: broken(x).sum(), [Tensor([1.0, 2.0], requires_grad=True)])


def test_gradcheck_fails_loudly_when_the_numeric_gradient_is_not_finite():
    x = Tensor([1e-7, 1.0], requires_grad=True)  # log at 1e-7 - eps is NaN
    with pytest.raises(mg.GradcheckError, match="numeric gradient.*index \\(0,\\)"):
        mg.gradcheck(lambda x: x.log().sum(), [x], eps=1e-6)


def test_gradcheck_runs_functions_that_use_hooks_and_retain_grad():
    def fn(x):
        h = (x * 3.0).tanh()
        h.retain_grad()
        h.register_hook(lambda g: None)
        return (h * h).sum()

    assert mg.gradcheck(fn, [Tensor([0.1, -0.4], requires_grad=True)])


# ---- hooks ------------------------------------------------------------------------------------
def test_a_hook_returning_the_wrong_shape_is_an_error_naming_both_shapes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: np.zeros(3))
    with pytest.raises(ValueError, match=r"returned shape \(3,\).*shape \(2,\)"):
        h.sum().backward()


def test_a_hook_that_raises_leaves_the_graph_and_grads_intact_for_a_retry():
    W = Tensor([[0.5, -1.0]], requires_grad=True)
    x = Tensor([[2.0], [1.0]])
    h = (x @ W).tanh()
    loss = (h * W).sum()
    calls = []

    def flaky(g):
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("first try fails")

    h.register_hook(flaky)
    with pytest.raises(KeyError):
        loss.backward()
    assert W.grad is None and not loss.released
    loss.backward()
    t = np.tanh(x.data @ W.data)  # d/dW sum(tanh(xW) * W) = tanh(xW) summed + x^T ((1-t^2) W)
    expected = t.sum(axis=0, keepdims=True) + x.data.T @ ((1 - t**2) * W.data)
    np.testing.assert_allclose(W.grad, expected, rtol=1e-12)


# ---- when the graph is released ----------------------------------------------------------------
def _spy(x: Tensor, seen: list, consumer: list) -> Tensor:
    """x itself, through a primitive whose VJP notes whether its consumer was released by then."""
    def spy_vjp(g):
        seen.append(consumer[0].released)
        return (g,)
    return mg.record_op("spy", x.data, (x,), spy_vjp)


def test_backward_releases_each_node_as_soon_as_its_vjp_ran():
    gc.collect()  # no tensor with a hook left from another test (that keeps graphs to the end)
    assert not mg.graph.HOOKED
    x, seen, consumer = Tensor([1.0, 2.0], requires_grad=True), [], []
    consumer.append(_spy(x, seen, consumer) * 3.0)
    consumer[0].sum().backward()
    assert seen == [True]  # freed before the pass reached the spy: its memory is reused
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_with_a_hook_alive_or_retain_graph_nothing_is_released_during_the_pass():
    x, seen, consumer = Tensor([1.0, 2.0], requires_grad=True), [], []
    consumer.append(_spy(x, seen, consumer) * 3.0)
    loss = consumer[0].sum()
    loss.backward(retain_graph=True)
    hooked = Tensor([0.0], requires_grad=True)
    hooked.register_hook(lambda g: None)  # any live tensor with a hook
    loss.backward()
    assert seen == [False, False] and loss.released and consumer[0].released
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_a_refused_in_place_change_stores_no_gradient_at_all():
    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([0.5, 0.5], requires_grad=True)
    y = ((x * 2.0).tanh() * w).sum()  # w's gradient is complete before mul (x * 2.0) is reached
    with mg.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
    assert x.grad is None and w.grad is None


def test_a_vjp_that_fails_midway_stores_no_gradient_and_says_so_on_a_retry():
    def broken_vjp(g):
        raise ArithmeticError("this VJP is broken")

    x = Tensor([1.0, 2.0], requires_grad=True)
    w = Tensor([3.0, 4.0], requires_grad=True)
    loss = (mg.record_op("broken", x.data * 1.0, (x,), broken_vjp) * w).sum()
    with pytest.raises(ArithmeticError, match="broken"):
        loss.backward()
    assert x.grad is None and w.grad is None  # w's gradient was complete, but not stored
    with pytest.raises(RuntimeError, match="released"):
        loss.backward()


# ---- edge cases ---------------------------------------------------------------------------------
def test_power_zero_has_zero_gradient_at_zero():
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    y = Tensor([0.0, 2.0], requires_grad=True)
    (y ** Tensor([0.0, 0.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 0.0])


def test_mean_over_an_empty_axis_goes_through_backward():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        x.mean(axis=0).sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_reductions_of_a_0d_tensor_take_axis_minus_one_as_numpy_does(reduce):
    x = Tensor(3.0, requires_grad=True)
    out = getattr(x, reduce)(axis=-1)
    assert out.item() == 3.0  # numpy: np.sum(np.array(3.0), axis=-1) is 3.0
    out.backward()
    assert x.grad == 1.0


def test_a_broadcasting_error_is_called_one_only_when_it_is_one():
    with pytest.raises(ValueError, match="do not broadcast"):
        Tensor(np.ones(2)) + Tensor(np.ones(3))
    with pytest.raises(ValueError, match="Integers to negative integer powers") as info:
        Tensor(np.array([2])) ** Tensor(np.array([-1]))
    assert "broadcast" not in str(info.value)


def test_bool_follows_numpy_for_one_element_and_refuses_more():
    assert bool(Tensor([0.0])) is False
    assert bool(Tensor(2.0)) is True
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        bool(Tensor([1.0, 2.0]))
