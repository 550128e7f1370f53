"""backward(): accumulation, graph release, hooks, modes, recording, graph walks, checks."""

import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor

THIS_FILE = os.path.basename(__file__)


# ---- gradients add up -----------------------------------------------------------------------
def test_tensor_used_twice_gets_the_sum():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_weight_in_two_matmuls_gets_the_sum_of_both_uses():
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    ((a @ W).sum() + (b @ W).sum()).backward()
    np.testing.assert_allclose(W.grad, a.T @ np.ones((2, 3)) + b.T @ np.ones((2, 3)))


def test_diamond_sixty_levels_deep_is_immediate():
    x = Tensor(1.0, requires_grad=True)
    y = x
    calls = []
    for level in range(60):
        y = y + y
        y.register_hook(lambda g, level=level: calls.append(level))
    assert len(mg.topological_order(y)) == 61
    y.backward()
    assert x.grad == 2.0**60
    assert sorted(calls) == list(range(60))  # each node's gradient handled once, complete


def test_hundred_thousand_op_chain_backpropagates_without_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0000001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.0000001**100_000, rtol=1e-9)


def test_leaf_grad_accumulates_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (3 * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_broadcast_gradient_is_summed_back_to_the_input_shape():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.ones((2, 1)), requires_grad=True)
    (x * b + c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (2, 1)
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(c.grad, [[3.0], [3.0]])


def test_only_inputs_that_need_it_get_a_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 7.0])
    (x * c).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 7.0])
    assert c.grad is None


def test_vjp_is_not_asked_for_gradients_nobody_needs():
    asked = []
    x, c = Tensor([1.0], requires_grad=True), Tensor([2.0])

    def vjp(g):
        asked.append(True)
        return g * 2, None

    mg.record_op("twice", x.data * 2, (x, c), vjp).sum().backward()
    assert asked == [True] and c.grad is None
    np.testing.assert_allclose(x.grad, [2.0])


# ---- releasing the graph --------------------------------------------------------------------
def test_backward_releases_the_graph_of_a_kept_loss():
    x = Tensor(np.ones((200, 200)), requires_grad=True)
    hidden = (x * 2).tanh()
    hidden_ref, data_ref = weakref.ref(hidden), weakref.ref(hidden.data)
    loss = (hidden * hidden).sum()
    del hidden
    gc.disable()  # the release must free by reference counting, not by cycle collection
    try:
        loss.backward()
        assert loss.parents == () and loss.released
        assert hidden_ref() is None and data_ref() is None
    finally:
        gc.enable()


def test_backward_frees_activation_memory():
    x = Tensor(np.random.default_rng(0).standard_normal(500_000), requires_grad=True)
    megabytes = x.data.nbytes
    tracemalloc.start()
    try:
        loss = ((x * 2).tanh().exp() * 3).sum()  # four 4 MB activations behind `loss`
        held = tracemalloc.get_traced_memory()[0]
        loss.backward()
        x.grad = None
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held - after > 3 * megabytes


def test_second_backward_through_released_graph_names_retain_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        loss.backward()


def test_reaching_a_released_intermediate_raises():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        (y * 3).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    assert loss.parents != ()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * (2 * x.data))


def test_non_scalar_backward_needs_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"(?s)\(2, 3\).*\.sum\(\).*grad="):
        y.backward()


def test_non_scalar_backward_with_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    seed = np.arange(6.0).reshape(2, 3)
    (x * 2).backward(grad=seed)
    np.testing.assert_allclose(x.grad, 2 * seed)
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(grad=np.ones(3))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad"):
        (Tensor([1.0]) * 2).sum().backward()


# ---- retain_grad, hooks, detach, no_grad ----------------------------------------------------
def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = x * 4
    y.retain_grad()
    (y * y + z).sum().backward()
    np.testing.assert_allclose(y.grad, 2 * y.data)
    assert z.grad is None


def test_hook_sees_the_gradient_and_its_return_replaces_it():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.copy()))
    y.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    assert len(seen) == 1  # called once, with the sum over both uses of y
    np.testing.assert_allclose(seen[0], 2 * y.data)
    np.testing.assert_allclose(x.grad, 10 * 3 * 2 * y.data)


def test_hook_on_a_leaf_and_its_removal():
    x = Tensor([1.0, 2.0], requires_grad=True)
    remove = x.register_hook(lambda g: np.zeros_like(g))
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    remove()
    x.zero_grad()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_detach_passes_no_gradient():
    x = Tensor([2.0], requires_grad=True)
    cut = (x * x).detach()
    y = cut * x + x.detach()
    assert cut.requires_grad is False and y.parents[1].requires_grad is False
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [4.0])


def test_no_grad_records_nothing_and_restores_after_an_exception():
    x = Tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = (x * 2).tanh()
    assert not y.requires_grad and y.op is None and y.parents == ()
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            raise ZeroDivisionError
    z = x * 2
    assert z.requires_grad and z.op == "mul"


# ---- record=True ----------------------------------------------------------------------------
def test_record_stores_node_and_edge_gradient_norms():
    x = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor(3.0, requires_grad=True)
    c = Tensor([1.0, -1.0])  # a constant: no gradient, no edge norm
    y = x * b  # b is broadcast: its edge norm is after summing back to ()
    z = y * c
    loss = z.sum()
    loss.backward(retain_graph=True, record=True)
    # dloss/dz = 1, dloss/dy = c, dloss/dx = c b, dloss/db = sum(c x)
    assert loss.grad_norm == pytest.approx(1.0)
    assert z.grad_norm == pytest.approx(np.sqrt(2.0))
    assert y.grad_norm == pytest.approx(np.linalg.norm([1.0, -1.0]))
    assert x.grad_norm == pytest.approx(np.linalg.norm([3.0, -3.0]))
    assert b.grad_norm == pytest.approx(abs(1.0 - 2.0))
    assert loss.edge_grad_norms == pytest.approx((np.sqrt(2.0),))
    assert len(z.edge_grad_norms) == len(z.parents) == 2
    assert z.edge_grad_norms[0] == pytest.approx(np.sqrt(2.0)) and z.edge_grad_norms[1] is None
    assert y.parents == (x, b)
    assert y.edge_grad_norms == pytest.approx((np.sqrt(18.0), 1.0))
    assert c.grad_norm is None
    assert all(isinstance(n, float) for n in (loss.grad_norm, x.grad_norm, b.grad_norm))


def test_without_record_nothing_is_stored():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    loss = y.sum()
    loss.backward(retain_graph=True)
    for node in (x, y, loss):
        assert node.grad_norm is None and node.edge_grad_norms is None


# ---- graph walks and scopes -----------------------------------------------------------------
def test_topological_order_puts_each_node_once_after_its_parents():
    x = Tensor([1.0], requires_grad=True)
    w = Tensor([2.0], requires_grad=True)
    shared = x * w
    a, b = shared.tanh(), shared.exp()
    root = (a + b) * shared
    order = mg.topological_order(root)
    assert order[-1] is root
    assert len(order) == len({id(n) for n in order}) == 7
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_topological_order_of_a_hundred_thousand_chain():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0
    order = mg.topological_order(y)
    assert len(order) == 200_001  # every add plus its constant operand, plus x
    assert order[0] is x or order[0].op is None
    assert order[-1] is y


def test_scope_names_nodes_and_nests_and_restores():
    x = Tensor([1.0], requires_grad=True)
    with mg.scope("t=3"):
        a = x * 2
    with mg.scope("rnn"):
        with mg.scope("t=3"):
            b = x * 2
        c = x * 2
    assert (a.scope, b.scope, c.scope) == ("t=3", "rnn/t=3", "rnn")
    with pytest.raises(KeyError):
        with mg.scope("boom"):
            raise KeyError
    assert (x * 2).scope == ""


# ---- anomaly detection ----------------------------------------------------------------------
def test_anomaly_in_forward_names_the_op_and_the_line():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as info:
            x.log()  # the line that makes -inf
    assert (x * 2)._created_at is None  # the mode ended with the block, despite the error
    message = str(info.value)
    assert "'log'" in message and THIS_FILE in message and "x.log()" in message


def test_anomaly_born_in_backward_names_the_op_and_the_line():
    x = Tensor([0.0], requires_grad=True)
    with mg.detect_anomaly():
        loss = x.sqrt().sum()
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "'sqrt'" in message and "Inf" in message
    assert THIS_FILE in message and "x.sqrt().sum()" in message


def test_outside_anomaly_mode_nothing_is_recorded_or_raised():
    x = Tensor([0.0], requires_grad=True)
    y = x.log()
    assert y._created_at is None and np.isneginf(y.data).all()
    x.sqrt().sum().backward()
    assert np.isinf(x.grad).all()


# ---- gradcheck and jacobian -----------------------------------------------------------------
def test_gradcheck_passes_for_correct_functions():
    rng = np.random.default_rng(1)
    a = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert mg.gradcheck(lambda a, b: (a @ b).tanh(), [a, b]) is True
    assert mg.gradcheck(lambda a: (a * a).sum(axis=0).exp(), [a]) is True


def test_gradcheck_raises_with_the_worst_entry_for_a_wrong_derivative():
    def wrong_square(x):  # derivative off by a factor of 2
        return mg.record_op("wrong_square", x.data**2, (x,), lambda g: (g * x.data,))

    x = Tensor([1.0, 3.0], requires_grad=True, name="x")
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(wrong_square, [x])
    message = str(info.value)
    assert "input 0" in message and "'x'" in message and "(1,)" in message
    assert "analytic 3" in message and "numeric 6" in message


def test_jacobian_has_shape_out_plus_in():
    x = np.arange(6.0).reshape(2, 3)
    J = mg.jacobian(lambda t: t.sum(axis=1) * 2, x)
    assert J.shape == (2, 2, 3)
    expected = np.zeros((2, 2, 3))
    expected[0, 0], expected[1, 1] = 2.0, 2.0
    np.testing.assert_allclose(J, expected)
    A = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(mg.jacobian(lambda t: A @ t, np.ones(3)), A)


def test_a_scalar_used_four_times_gets_all_four_gradients():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    s = x.sum()
    (s + s + s + s).backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


def test_gradients_kept_without_a_copy_are_never_shared():
    a = mg.Tensor(np.ones(3), requires_grad=True)
    b = mg.Tensor(np.ones(3), requires_grad=True)
    seed = np.array([1.0, 2.0, 3.0])
    (a + b).backward(seed)  # add sends the same array to both parents
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
    assert a.grad is not b.grad and a.grad is not seed


def test_a_tensor_used_many_times_sums_every_use_in_place_safely():
    W = mg.Tensor(np.eye(2), requires_grad=True)
    x = mg.Tensor(np.ones((1, 2)))
    uses = [((x @ W) * k).sum() for k in range(1, 6)]
    total = uses[0]
    for u in uses[1:]:
        total = total + u
    total.backward()
    np.testing.assert_array_equal(W.grad, np.full((2, 2), 15.0))
