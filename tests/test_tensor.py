"""Tensor: construction and dtype rules, array facts, numpy interop, in-place rule, graph links."""

import gc

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor


# ---- construction and dtypes ----------------------------------------------------------------
@pytest.mark.parametrize("data", [3, 2.5, [1, 2, 3], [[1.0, 2.0], [3.0, 4.0]], [1, 2.5]])
def test_python_numbers_and_lists_become_float64(data):
    t = Tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_numpy_float_arrays_keep_their_dtype():
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.float32(1.5)).dtype == np.float32
    assert Tensor(np.ones(3, dtype=np.float64)).dtype == np.float64


@pytest.mark.parametrize(
    "array", [np.arange(3), np.array([True, False]), np.arange(3, dtype=np.uint8)]
)
def test_int_and_bool_arrays_keep_their_dtype(array):
    t = Tensor(array)
    assert t.dtype == array.dtype
    assert not t.requires_grad


@pytest.mark.parametrize("array", [np.arange(3), np.array([True, False])])
def test_int_or_bool_tensor_requiring_grad_is_a_clear_type_error(array):
    with pytest.raises(TypeError, match=r"(?s)float.*dtype=np.float64"):
        Tensor(array, requires_grad=True)


def test_dtype_argument_converts():
    t = Tensor([1, 2], dtype=np.float32)
    assert t.dtype == np.float32
    t = Tensor(np.arange(3), dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad
    assert Tensor([1.7, 2.2], dtype=np.int64).dtype == np.int64


def test_attributes():
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="x")
    assert x.shape == (2, 3)
    assert x.ndim == 2
    assert x.dtype == np.float64
    assert x.name == "x"
    assert x.requires_grad is True
    assert x.grad is None
    assert isinstance(x.data, np.ndarray)
    assert Tensor(1.0).requires_grad is False and Tensor(1.0).name is None


def test_item_and_numpy():
    assert Tensor([[4.5]]).item() == 4.5
    assert isinstance(Tensor(2.0).item(), float)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        Tensor([1.0, 2.0]).item()
    t = Tensor([1.0, 2.0])
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_astype_converts_and_gradient_flows_back_in_the_source_dtype():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.op == "astype" and y.parents == (x,)
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_astype_to_int_gives_a_tensor_without_grad():
    x = Tensor([1.5, 2.5], requires_grad=True)
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad


def test_repr_is_readable():
    text = repr(Tensor([1.0, 2.0], requires_grad=True, name="w"))
    assert text.startswith("Tensor([1. 2.]")
    assert "name='w'" in text and "requires_grad=True" in text
    assert "op='mul'" in repr(Tensor([1.0], requires_grad=True) * 2)
    assert "dtype=float32" in repr(Tensor(np.zeros(2, dtype=np.float32)))
    assert len(repr(Tensor(np.zeros(10_000)))) < 200


# ---- numpy interoperation -------------------------------------------------------------------
def test_np_asarray_of_a_tensor_is_its_data():
    t = Tensor([[1.0, 2.0]])
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64
    np.testing.assert_array_equal(a, [[1.0, 2.0]])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.array(t).shape == (1, 2)


def test_ndarray_plus_tensor_is_a_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([10.0, 20.0]) + x
    assert isinstance(out, Tensor) and out.dtype == np.float64
    np.testing.assert_array_equal(out.data, [11.0, 22.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_ndarray_matmul_tensor_is_a_tensor():
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    a = np.ones((4, 2))
    out = a @ w
    assert isinstance(out, Tensor) and out.shape == (4, 3)
    np.testing.assert_allclose(out.data, a @ w.data)
    out.sum().backward()
    np.testing.assert_allclose(w.grad, a.T @ np.ones((4, 3)))


def test_reflected_arithmetic_with_python_numbers():
    x = Tensor([2.0, 4.0])
    np.testing.assert_allclose((1 - x).data, [-1.0, -3.0])
    np.testing.assert_allclose((8 / x).data, [4.0, 2.0])
    np.testing.assert_allclose((3 * x).data, [6.0, 12.0])
    np.testing.assert_allclose((2**x).data, [4.0, 16.0])


def test_python_number_keeps_a_float32_tensor_float32():
    x = Tensor(np.ones(2, dtype=np.float32))
    assert (x * 0.1).dtype == np.float32
    assert (2.0 + x).dtype == np.float32


def test_comparisons_give_numpy_bool_arrays():
    a, b = Tensor([1.0, 2.0, 3.0]), Tensor([2.0, 2.0, 2.0])
    cases = {
        "<": (a < b, [True, False, False]),
        "<=": (a <= b, [True, True, False]),
        ">": (a > b, [False, False, True]),
        ">=": (a >= b, [False, True, True]),
        "==": (a == b, [False, True, False]),
        "!=": (a != b, [True, False, True]),
    }
    for symbol, (got, expected) in cases.items():
        assert isinstance(got, np.ndarray) and got.dtype == bool, symbol
        np.testing.assert_array_equal(got, expected, err_msg=symbol)
    np.testing.assert_array_equal(a > 1.5, [False, True, True])


def test_tensors_are_hashable_by_identity():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert len({a, b}) == 2
    assert len({a, a}) == 1
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert hash(a) != hash(b) and hash(a) == hash(a)


# ---- the in-place rule ----------------------------------------------------------------------
IN_PLACE = [
    ("+=", lambda t: t.__iadd__(2.0), [3.0, 6.0]),
    ("-=", lambda t: t.__isub__(2.0), [-1.0, 2.0]),
    ("*=", lambda t: t.__imul__(2.0), [2.0, 8.0]),
    ("/=", lambda t: t.__itruediv__(2.0), [0.5, 2.0]),
]


@pytest.mark.parametrize("symbol, update, expected", IN_PLACE)
def test_in_place_under_no_grad_changes_data_in_place(symbol, update, expected):
    t = Tensor([1.0, 4.0], requires_grad=True)
    buffer = t.data
    with mg.no_grad():
        result = update(t)
    assert result is t and t.data is buffer
    np.testing.assert_allclose(t.data, expected)
    assert t.requires_grad


@pytest.mark.parametrize("symbol, update, expected", IN_PLACE)
def test_in_place_on_a_tensor_without_grad_changes_data_in_place(symbol, update, expected):
    t = Tensor([1.0, 4.0])
    buffer = t.data
    assert update(t) is t and t.data is buffer
    np.testing.assert_allclose(t.data, expected)


@pytest.mark.parametrize("symbol, update, expected", IN_PLACE)
def test_in_place_on_a_tensor_requiring_grad_raises_and_shows_the_fix(symbol, update, expected):
    t = Tensor([1.0, 4.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad") as info:
        update(t)
    assert symbol in str(info.value)
    np.testing.assert_array_equal(t.data, [1.0, 4.0])


def test_in_place_operator_syntax_rebinds_to_the_same_tensor():
    t = Tensor([1.0, 2.0])
    same = t
    t += Tensor([1.0, 1.0])
    t *= 3
    assert t is same
    np.testing.assert_array_equal(same.data, [6.0, 9.0])
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 0.1


# ---- graph links ----------------------------------------------------------------------------
def test_ops_name_themselves_and_link_parents():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    w = Tensor([[1.0], [2.0]], requires_grad=True)
    assert x.op is None and x.parents == () and x.is_leaf
    s = x + x
    m = x @ w
    t = m.tanh()
    assert (s.op, m.op, t.op) == ("add", "matmul", "tanh")
    assert s.parents == (x, x)
    assert m.parents == (x, w)
    assert t.parents == (m,)
    assert (-x).op == "neg"
    assert x.sum().op == "sum"
    assert x.T.op == "transpose"
    assert x[0].op == "getitem"


def test_ops_on_constants_record_nothing():
    a, b = Tensor([1.0]), Tensor([2.0])
    c = a * b
    assert c.op is None and c.parents == () and not c.requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.op is None and d.parents == () and not d.requires_grad
    assert d.data is y.data
    assert d.detached_from is y
    assert Tensor(1.0).detached_from is None


def test_detached_from_is_weak():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    del y
    gc.collect()
    assert d.detached_from is None
    np.testing.assert_array_equal(d.data, [2.0, 4.0])


def test_no_gradient_flows_through_detach():
    x = Tensor([3.0], requires_grad=True)
    y = x * x
    z = y.detach() * x  # only the direct use of x is differentiated
    z.sum().backward()
    np.testing.assert_allclose(x.grad, [9.0])
