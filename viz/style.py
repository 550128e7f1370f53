"""Colours, widths and the gradient scale, shared by every drawing.

Gradient norms are placed on a log10 scale, by default one class per decade from 1e-6 (and
below) to 1e2 (and above), so two pictures can be compared by eye: faint and thin edges are
vanishing gradients, dark and thick ones exploding. A graph whose edge norms span fewer than 3
decades would be one colour on that scale, so its edges get a scale stretched over its own range
(``Scale.for_norms``), and the legend says so. Red is kept for NaN/Inf and never used on a scale.
"""

from __future__ import annotations

import math

FONT = "Helvetica,Arial,sans-serif"

# node fills and borders (light fills, so labels stay readable on any cluster shade)
OP_FILL = "#fff3d6"
OP_BORDER = "#c79a3b"
DATA_FILL = "#eef4fb"
DATA_BORDER = "#6d8fb3"
INPUT_FILL = "#f2f2f2"
INPUT_BORDER = "#9e9e9e"
PARAM_FILL = "#d8f0d2"
PARAM_BORDER = "#2e7d32"
CUT_COLOR = "#8e24aa"
FOLD_FILL = "#eceff1"
FOLD_BORDER = "#546e7a"
CLUSTER_FILL = "#fafbfc"
CLUSTER_BORDER = "#b0bec5"
LEGEND_FILL = "#ffffff"

EDGE_COLOR = "#616161"  # edges when gradients are not drawn
EDGE_LABEL_COLOR = "#37474f"
NO_GRAD_COLOR = "#c4c4c4"  # an edge no gradient flows along
ZERO_COLOR = "#bdbdbd"  # a gradient that is exactly zero
BAD_COLOR = "#e41a1c"  # NaN or Inf
HIGHLIGHT_COLOR = "#c2185b"
STORED_COLOR = "#37474f"  # a state a checkpoint keeps between forward and backward
FADED_COLOR = "#d6d6d6"
FADED_FONT = "#a8a8a8"
FADED_FILL = "#f8f8f8"

LOG_MIN, LOG_MAX = -6, 2  # decades on the scale; norms outside are clamped to the ends
# one colour per decade, light (vanishing) to dark (exploding)
EDGE_SCALE = (
    "#b9d3ea",
    "#94bfe0",
    "#6baed6",
    "#4292c6",
    "#2171b5",
    "#08519c",
    "#08306b",
    "#3f1d7a",
    "#1a0033",
)
# cluster shading by ||dL/dh_t||: pale tints, same decades
SHADE_SCALE = (
    "#fdfdfc",
    "#fefaf2",
    "#fef6e8",
    "#fef1dc",
    "#feebcf",
    "#fee4c0",
    "#fddcb0",
    "#fdd29d",
    "#fcc688",
)
DARK_FROM = 5  # scale classes from here on carry white legend text
assert len(EDGE_SCALE) == len(SHADE_SCALE) == LOG_MAX - LOG_MIN + 1


def is_bad(norm: float | None) -> bool:
    return norm is not None and not math.isfinite(norm)


def decade(norm: float) -> int:
    """Index of the scale class of a finite, positive norm."""
    return min(max(math.floor(math.log10(norm)), LOG_MIN), LOG_MAX) - LOG_MIN


STRETCH_BELOW_DECADES = 3  # a graph's norms spanning fewer decades get a stretched scale


class Scale:
    """Where a norm falls among the len(EDGE_SCALE) colour classes: fixed decades, or
    ``[low, high]`` cut into equal steps of log10 (``stretched``)."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.stretched = low is not None and high is not None and high > low
        self.low, self.high = (low, high) if self.stretched else (None, None)

    @classmethod
    def for_norms(cls, norms) -> Scale:
        """The fixed scale, or one stretched over ``norms`` when they span < 3 decades."""
        finite = [n for n in norms if n is not None and math.isfinite(n) and n > 0]
        if not finite:
            return cls()
        low, high = min(finite), max(finite)
        if high > low and math.log10(high / low) < STRETCH_BELOW_DECADES:
            return cls(low, high)
        return cls()

    def index(self, norm: float) -> int:
        """The class of a finite, positive norm."""
        if not self.stretched:
            return decade(norm)
        classes = len(EDGE_SCALE)
        where = math.log10(norm / self.low) / math.log10(self.high / self.low)
        return min(max(int(where * classes), 0), classes - 1)

    def labels(self) -> list[str]:
        """The legend's text of each class: its lower end ('<=1e-6', '1e-5', ... on the fixed
        scale; the range's own numbers when stretched)."""
        if not self.stretched:
            return scale_labels()
        classes = len(EDGE_SCALE)
        ratio = math.log10(self.high / self.low)
        return [f"{self.low * 10 ** (ratio * i / classes):.2g}" for i in range(classes)]


FIXED = Scale()


def edge_style(norm: float | None, scale: Scale = FIXED) -> tuple[str, float, str]:
    """(colour, penwidth, line style) of an edge that carried gradient ``norm``."""
    if norm is None:
        return NO_GRAD_COLOR, 0.7, "solid"
    if is_bad(norm):
        return BAD_COLOR, 3.0, "solid"
    if norm == 0.0:
        return ZERO_COLOR, 0.7, "dotted"
    k = scale.index(norm)
    return EDGE_SCALE[k], round(0.6 + 0.45 * k, 2), "solid"


def shade(norm: float | None) -> str | None:
    """Cluster fill for ``||dL/dh_t||`` (None: not known)."""
    if norm is None:
        return None
    if is_bad(norm):
        return "#ffd6d6"
    if norm == 0.0:
        return SHADE_SCALE[0]
    return SHADE_SCALE[decade(norm)]


def scale_labels() -> list[str]:
    """The legend's text for each class: '<=1e-6', '1e-5', ..., '>=1e2'."""
    labels = [f"1e{p}" for p in range(LOG_MIN, LOG_MAX + 1)]
    labels[0] = "\u2264" + labels[0]
    labels[-1] = "\u2265" + labels[-1]
    return labels


def fmt_norm(norm: float | None) -> str:
    if norm is None:
        return "?"
    if math.isnan(norm):
        return "NaN"
    if math.isinf(norm):
        return "Inf"
    return f"{norm:.2e}"
