"""minigrad: a graph-based reverse-mode autodiff engine on numpy, built to teach.

Every op records a node; ``loss.backward()`` walks the graph in reverse and accumulates
gradients. Unroll an RNN over time and backprop through time is just ``backward()`` on that graph.
"""

from . import ops  # noqa: F401  (first: tensor.py's methods are its functions; see its end)

# isort: split
from . import files, functional, nn, optim
from .autograd import reference_backward
from .checkpoint import checkpoint
from .checks import GradcheckError, gradcheck, jacobian
from .creation import arange, eye, full, ones, ones_like, randn, tensor, zeros, zeros_like
from .einsum_ops import einsum
from .forward import jvp
from .graph import topological_order, unbroadcast
from .higher import grad, gradgradcheck, hessian, hvp
from .math_ops import (
    argmax,
    argmin,
    cos,
    cumsum,
    expm1,
    log1p,
    logsumexp,
    maximum,
    minimum,
    prod,
    sign,
    sin,
    std,
    var,
)
from .modes import AnomalyError, detect_anomaly, no_grad, scope
from .ops import record_op
from .shape_ops import (
    broadcast_to,
    concat,
    flatten,
    pad,
    split,
    squeeze,
    stack,
    unsqueeze,
    where,
)
from .tensor import Tensor

__all__ = [
    "AnomalyError",
    "GradcheckError",
    "Tensor",
    "arange",
    "argmax",
    "argmin",
    "broadcast_to",
    "checkpoint",
    "concat",
    "cos",
    "cumsum",
    "detect_anomaly",
    "einsum",
    "expm1",
    "eye",
    "files",
    "flatten",
    "full",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "log1p",
    "logsumexp",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "pad",
    "prod",
    "randn",
    "record_op",
    "reference_backward",
    "scope",
    "sign",
    "sin",
    "split",
    "squeeze",
    "stack",
    "std",
    "tensor",
    "topological_order",
    "unbroadcast",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
__version__ = "0.1.0"
