"""The engine's pause of the cyclic garbage collector: restored afterwards, and cycles still freed.

The linear cost per node is measured by benchmarks/plain_loop.py; these tests check the promises.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.graph import GraphPause


class Cyclic:
    """An object in a reference cycle with itself: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def plain_loop(steps: int, make_cycle_at: int | None = None) -> tuple[mg.Tensor, list]:
    rng = np.random.default_rng(0)
    W = mg.Tensor(rng.uniform(-0.3, 0.3, (4, 4)), requires_grad=True)
    h = mg.Tensor(np.ones((1, 4)))
    refs = []
    for t in range(steps):
        if t == make_cycle_at:
            cycle = Cyclic()
            refs.append(weakref.ref(cycle))
            del cycle
        h = (h @ W.T).tanh()
    return h.sum(), refs


@pytest.fixture
def user_gc_settings():
    """Run the test with unusual user settings, and put the defaults back whatever happens."""
    saved = gc.isenabled(), gc.get_threshold()
    gc.set_threshold(500, 7, 3)
    yield (500, 7, 3)
    gc.set_threshold(*saved[1])
    (gc.enable if saved[0] else gc.disable)()


def test_settings_are_the_users_again_once_the_graph_is_gone(user_gc_settings):
    gc.enable()
    loss, _ = plain_loop(50)
    assert not gc.isenabled()  # paused while the graph lives
    loss.backward()  # releases the graph's links
    del loss
    assert GraphPause.live == 0
    assert gc.isenabled() and gc.get_threshold() == user_gc_settings


def test_a_graph_dropped_without_backward_restores_too(user_gc_settings):
    gc.enable()
    loss, _ = plain_loop(50)
    del loss
    assert gc.isenabled() and gc.get_threshold() == user_gc_settings


def test_a_collector_the_user_disabled_stays_disabled(user_gc_settings):
    gc.disable()
    loss, _ = plain_loop(50)
    loss.backward()
    del loss
    assert not gc.isenabled() and gc.get_threshold() == user_gc_settings


def test_retained_graph_keeps_the_pause_until_it_dies(user_gc_settings):
    gc.enable()
    loss, _ = plain_loop(20)
    loss.backward(retain_graph=True)
    assert not gc.isenabled()
    del loss
    assert gc.isenabled()


def test_a_cycle_made_while_the_graph_grows_is_freed_before_the_graph_dies(user_gc_settings):
    gc.enable()
    gc.collect()
    loss, refs = plain_loop(3000, make_cycle_at=10)  # later nodes run the young generations
    assert refs[0]() is None  # freed although no full collection ran and the graph is alive
    loss.backward()
    del loss


def test_an_old_cycle_is_freed_by_python_after_the_pause():
    gc.enable()
    gc.collect()
    loss, refs = plain_loop(5, make_cycle_at=1)
    loss.backward()
    del loss
    assert gc.isenabled()
    junk = [Cyclic() for _ in range(20000)]  # enough allocations for the automatic collector
    del junk
    for _ in range(20000):
        Cyclic()
    assert refs[0]() is None


def test_no_grad_records_no_pause():
    gc.enable()
    W = mg.Tensor(np.eye(2), requires_grad=True)
    with mg.no_grad():
        y = W @ W
    assert GraphPause.live == 0 and gc.isenabled()
    del y
