"""The PyTorch shape vocabulary (squeeze, unsqueeze, flatten, view, expand/broadcast_to, repeat,
split, pad): values equal numpy's, gradients equal central differences on random shapes, errors
name the op and the shape.
"""

import numpy as np
import pytest
from finite_differences import FAST, check_grads, sample, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg


def close(actual, expected):
    np.testing.assert_array_equal(actual, expected)


def values(seed, shape):
    return sample(np.random.default_rng(seed), "any", shape)


@FAST
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3), data=st.data(),
       seed=seeds)
def test_squeeze_and_unsqueeze(shape, data, seed):
    a = values(seed, shape)
    close(check_grads(lambda x: x.squeeze(), a, seed=seed).data, np.squeeze(a))
    ones = [i for i, n in enumerate(shape) if n == 1]
    if ones:  # squeeze one named size-1 axis (negative or not)
        axis = data.draw(st.sampled_from(ones)) - data.draw(st.sampled_from([0, len(shape)]))
        close(check_grads(lambda x: mg.squeeze(x, axis), a, seed=seed).data, np.squeeze(a, axis))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    out = check_grads(lambda x: x.unsqueeze(axis), a, seed=seed)
    close(out.data, np.expand_dims(a, axis))


@FAST
@given(shape=shapes, data=st.data(), seed=seeds)
def test_flatten_and_view(shape, data, seed):
    a = values(seed, shape)
    ndim = max(len(shape), 1)
    start = data.draw(st.integers(0, ndim - 1))
    end = data.draw(st.integers(start, ndim - 1)) - data.draw(st.sampled_from([0, ndim]))
    out = check_grads(lambda x: x.flatten(start, end), a, seed=seed)
    merged = int(np.prod(shape[start:end % ndim + 1]))
    close(out.data, a.reshape(shape[:start] + (merged,) + shape[end % ndim + 1:]))
    close(check_grads(lambda x: mg.flatten(x), a, seed=seed).data, a.reshape(-1))
    close(check_grads(lambda x: x.view(-1, 1), a, seed=seed).data, a.reshape(-1, 1))


@FAST
@given(pair=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=3), seed=seeds)
def test_expand_and_broadcast_to_sum_the_copies_back(pair, seed):
    (source,), target = pair.input_shapes, pair.result_shape
    a = values(seed, source)
    close(check_grads(lambda x: x.expand(*target), a, seed=seed).data,
          np.broadcast_to(a, target))
    close(check_grads(lambda x: mg.broadcast_to(x, target), a, seed=seed).data,
          np.broadcast_to(a, target))


def test_expand_minus_one_keeps_a_size_and_gradient_counts_copies():
    x = mg.Tensor([[1.0], [2.0]], requires_grad=True)
    out = x.expand(3, -1, 4)
    assert out.shape == (3, 2, 4)
    out.sum().backward()
    close(x.grad, [[12.0], [12.0]])


@FAST
@given(shape=shapes, data=st.data(), seed=seeds)
def test_repeat_tiles_and_sums_over_the_tiles(shape, data, seed):
    extra = data.draw(st.integers(0, 2))
    reps = tuple(data.draw(st.integers(1, 3)) for _ in range(len(shape) + extra))
    a = values(seed, shape)
    close(check_grads(lambda x: x.repeat(*reps), a, seed=seed).data, np.tile(a, reps))
    close(check_grads(lambda x: x.repeat(reps), a, seed=seed).data, np.tile(a, reps))


@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data(),
       seed=seeds)
def test_split_pieces_and_their_gradients(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    length = shape[axis]
    a = values(seed, shape)
    size = data.draw(st.integers(1, length + 1))
    pieces = mg.split(mg.Tensor(a), size, axis=axis)
    expected = np.split(a, range(size, length, size), axis=axis)
    assert len(pieces) == len(expected)
    for piece, want in zip(pieces, expected):
        close(piece.data, want)
    cut = data.draw(st.integers(0, length))
    sections = [cut, length - cut]
    # all pieces joined back, each scaled differently: every piece's gradient must land in place
    check_grads(lambda x: mg.concat([p * (i + 1) for i, p in enumerate(x.split(size, axis))],
                                    axis), a, seed=seed)
    check_grads(lambda x: mg.concat([p * (i + 2) for i, p in enumerate(x.split(sections, axis))],
                                    axis), a, seed=seed)


def test_split_of_one_piece_used_alone_gives_zeros_elsewhere():
    x = mg.Tensor(np.arange(5.0), requires_grad=True)
    first, second, last = x.split(2)
    assert [p.shape for p in (first, second, last)] == [(2,), (2,), (1,)]
    (second * 3).sum().backward()
    close(x.grad, [0.0, 0.0, 3.0, 3.0, 0.0])


@FAST
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data(),
       seed=seeds)
def test_pad_with_a_constant(shape, data, seed):
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    value = data.draw(st.sampled_from([0.0, -1.5]))
    a = values(seed, shape)
    out = check_grads(lambda x: mg.pad(x, widths, value=value), a, seed=seed)
    close(out.data, np.pad(a, widths, constant_values=value))
    close(check_grads(lambda x: mg.pad(x, 1), a, seed=seed).data, np.pad(a, 1))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.squeeze(0), ValueError, r"squeeze: axis 0 is not a size-1 axis of shape \(2, 3\)"),
    (lambda x: x.unsqueeze(3), ValueError, r"unsqueeze: axis 3 is out of range for shape"),
    (lambda x: x.flatten(1, 0), ValueError, r"flatten: axes 1..0 are not in order .*\(2, 3\)"),
    (lambda x: x.expand(3, 3), ValueError, r"broadcast_to: shape \(2, 3\) cannot .* \(3, 3\)"),
    (lambda x: x.view(4, 2), ValueError, r"reshape: cannot reshape \(2, 3\)"),
    (lambda x: x.repeat(2), ValueError, r"repeat: needs one count >= 0 per axis of shape"),
    (lambda x: x.split(0), ValueError, r"split: the piece size must be positive"),
    (lambda x: x.split([1, 2]), ValueError, r"split: sizes \[1, 2\] must add up to 2"),
    (lambda x: x.split(1, axis=2), ValueError, r"split: axis 2 is out of range for shape"),
    (lambda x: mg.pad(x, [(1, 1)] * 3), ValueError, r"pad: pad_width .* does not fit shape"),
    (lambda x: mg.pad(x, -1), ValueError, r"pad: widths must be >= 0 .* got -1 for shape"),
    (lambda x: mg.pad(x.sum(), 1), ValueError, r"pad: .* not 0-d; got 1 for shape \(\)"),
])
def test_shape_errors_name_the_op_and_shape(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.ones(2, 3))
