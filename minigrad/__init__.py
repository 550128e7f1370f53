"""minigrad: a graph-based reverse-mode autodiff engine on numpy, built to teach.

Every op records a node; ``loss.backward()`` walks the graph in reverse and accumulates
gradients. Unroll an RNN over time and backprop through time is just ``backward()`` on that graph.
"""

from . import ops  # noqa: F401  (first: tensor.py's methods are its functions; see its end)

# isort: split
from . import files, functional, nn, optim
from .autograd import reference_backward
from .checks import GradcheckError, gradcheck, jacobian
from .graph import topological_order, unbroadcast
from .modes import AnomalyError, detect_anomaly, no_grad, scope
from .ops import record_op
from .shape_ops import concat, stack, where
from .tensor import Tensor

__all__ = [
    "AnomalyError",
    "GradcheckError",
    "Tensor",
    "concat",
    "detect_anomaly",
    "files",
    "functional",
    "gradcheck",
    "jacobian",
    "nn",
    "no_grad",
    "optim",
    "record_op",
    "reference_backward",
    "scope",
    "stack",
    "topological_order",
    "unbroadcast",
    "where",
]
__version__ = "0.1.0"
