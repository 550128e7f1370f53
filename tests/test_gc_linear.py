"""The engine's pause of the cyclic garbage collector: restored afterwards, and cycles still freed.

Each check runs in a fresh interpreter, so that no graph another test keeps alive holds a pause.
The linear cost per node is measured by benchmarks/plain_loop.py; these tests check the promises.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import gc, weakref
import numpy as np
import minigrad as mg
from minigrad.graph import GraphPause

class Cyclic:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it

def plain_loop(steps, make_cycle_at=None):
    W = mg.Tensor(np.random.default_rng(0).uniform(-0.3, 0.3, (4, 4)), requires_grad=True)
    h, refs = mg.Tensor(np.ones((1, 4))), []
    for t in range(steps):
        if t == make_cycle_at:
            refs.append(weakref.ref(Cyclic()))
        h = (h @ W.T).tanh()
    return h.sum(), refs

def before_a_pause_holder():
    # use up creation numbers so that a short plain_loop records a node numbered k * 1024
    while (mg.Tensor(0.0)._seq + 1) % 1024 != 1014:
        pass

gc.set_threshold(500, 7, 3)  # the user's own settings
"""


def run_fresh(body: str) -> None:
    code = PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("release", ["backward", "del", "retain_graph"])
def test_settings_are_the_users_again_once_the_graph_is_gone(release):
    run_fresh(f"""
        gc.enable()
        loss, _ = plain_loop(400)
        assert not gc.isenabled()  # paused while the graph lives
        if "{release}" == "backward":
            loss.backward()  # releases the links: the pause ends with them
            assert gc.isenabled() and GraphPause.live == 0
        if "{release}" == "retain_graph":
            loss.backward(retain_graph=True)
            assert not gc.isenabled()  # the graph is still there
        del loss
        assert GraphPause.live == 0
        assert gc.isenabled() and gc.get_threshold() == (500, 7, 3) and gc.get_freeze_count() == 0
    """)


def test_a_short_graph_leaves_the_collector_alone():
    run_fresh("""
        loss, _ = plain_loop(5)  # 15 nodes: fewer than the 1024 between two pause holders
        assert gc.isenabled() and GraphPause.live == 0
    """)


def test_a_collector_the_user_disabled_stays_disabled():
    run_fresh("""
        gc.disable()
        loss, _ = plain_loop(400)
        loss.backward()
        del loss
        assert not gc.isenabled() and gc.get_threshold() == (500, 7, 3)
        gc.collect()
    """)


def test_a_cycle_made_while_the_graph_grows_is_freed_before_the_graph_dies():
    run_fresh("""
        loss, refs = plain_loop(3000, make_cycle_at=10)  # later nodes run the young generations
        assert refs[0]() is None and not gc.isenabled()
    """)


def test_an_old_cycle_holding_a_graph_is_freed_while_paused():
    run_fresh("""
        kept, _ = plain_loop(400)
        holder = Cyclic()
        holder.graph = kept  # a cycle that keeps a graph, so a pause, alive
        ref = weakref.ref(holder)
        gc.collect(1)  # the cycle survives into the old generation: only a full collection
        del kept, holder  # can free it now
        gc.collect(1)
        assert ref() is not None and GraphPause.live > 0
        loss, _ = plain_loop(50000)  # the engine's own full collections still run
        assert ref() is None
    """)


def test_an_old_cycle_is_freed_by_python_after_the_pause():
    run_fresh("""
        loss, refs = plain_loop(5, make_cycle_at=1)
        loss.backward()
        del loss
        assert gc.isenabled()
        for _ in range(50000):
            Cyclic()  # allocations: Python's own collector runs
        assert refs[0]() is None
    """)


def test_no_grad_records_no_pause():
    run_fresh("""
        W = mg.Tensor(np.eye(2), requires_grad=True)
        with mg.no_grad():
            y = W @ W
        assert GraphPause.live == 0 and gc.isenabled()
    """)


def test_a_copied_or_pickled_graph_shares_the_pause():
    run_fresh("""
        import copy, pickle
        before_a_pause_holder()
        loss, _ = plain_loop(20)
        twins = [copy.deepcopy(loss), copy.copy(loss), pickle.loads(pickle.dumps(loss))]
        assert GraphPause.live == 1 and not gc.isenabled()
        del loss, twins
        assert GraphPause.live == 0 and gc.isenabled()
    """)


def test_mg_grad_releasing_the_graph_ends_the_pause():
    run_fresh("""
        before_a_pause_holder()
        loss, _ = plain_loop(20)
        assert not gc.isenabled()
        W = [p for p in mg.topological_order(loss) if p.requires_grad and p.is_leaf][0]
        (g,) = mg.grad(loss, [W])
        assert gc.isenabled() and GraphPause.live == 0
    """)
