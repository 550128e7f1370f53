"""minigrad: a graph-based reverse-mode autodiff engine on numpy, built to teach.

Every op records a node; ``loss.backward()`` walks the graph in reverse and accumulates
gradients. Unroll an RNN over time and backprop through time is just ``backward()`` on that graph.
"""

from . import functional, nn, optim
from . import methods as _methods  # noqa: F401  (installs Tensor's operators)
from .autograd import topological_order, unbroadcast
from .checks import GradcheckError, gradcheck, jacobian
from .shape_ops import concat, stack, where
from .tensor import AnomalyError, Tensor, detect_anomaly, no_grad, scope

__all__ = [
    "AnomalyError",
    "GradcheckError",
    "Tensor",
    "concat",
    "detect_anomaly",
    "functional",
    "gradcheck",
    "jacobian",
    "nn",
    "no_grad",
    "optim",
    "scope",
    "stack",
    "topological_order",
    "unbroadcast",
    "where",
]
__version__ = "0.1.0"
