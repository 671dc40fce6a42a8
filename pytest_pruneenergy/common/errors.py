"""An exception as one line a user can act on: its real cause, and whether the input's shape is
to blame.

torch's own messages run to paragraphs, and a failing TorchScript model raises a message that
begins with "The following operation failed in the TorchScript interpreter." and ends, after
two tracebacks, with the error that actually happened; that last line is the cause.
"""

from __future__ import annotations

import re

from .shapes import format_shape

TORCHSCRIPT_PREAMBLE = "The following operation failed in the TorchScript interpreter."

# Messages torch (and models written with it) give when a tensor has the wrong shape.
_SHAPE_ERROR = re.compile(
    r"cannot be multiplied|size mismatch|must match the size|sizes of tensors|shape"
    r"|expected input|expected \d+d|expected .*\bdim|given groups=|padded input size"
    r"|dimension out of range|to have \d+ channels|input size|invalid for input of size"
    r"|out of bounds for dimension|not enough values to unpack",
    re.IGNORECASE,
)
# The option that sets the input's shape, named when the shape may be the cause: the plugin's,
# and `pruneenergy count`'s.
PLUGIN_SHAPE_OPTION = "--prune-input-shape"
COUNT_SHAPE_OPTION = "--input-shape"


def first_line(error: BaseException) -> str:
    """The first non-empty line of the message, or the exception's type where it has none."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def error_summary(error: BaseException) -> str:
    """``Type: first line``; for a TorchScript failure, the error at the end of its traces."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0] == TORCHSCRIPT_PREAMBLE:
        # The last line names the error raised inside the script, e.g. "RuntimeError: mat1 and
        # mat2 shapes cannot be multiplied (24x8 and 4x2)" or "builtins.ValueError: ...".
        return lines[-1].removeprefix("builtins.")
    return f"{type(error).__name__}: {lines[0]}"


def is_shape_error(error: BaseException) -> bool:
    """Whether the message says a tensor had the wrong shape (then the input may be to blame)."""
    return bool(_SHAPE_ERROR.search(error_summary(error)))


def with_shape_hint(
    message: str, error: BaseException, shape_option: str = PLUGIN_SHAPE_OPTION
) -> str:
    """``message``, followed by a hint at ``shape_option`` where the error is a shape error."""
    if not is_shape_error(error):
        return message
    return f"{message} If the model expects another input shape, set {shape_option}."


def count_failure(
    name: str,
    input_shape: tuple[int, ...],
    error: BaseException,
    shape_option: str = PLUGIN_SHAPE_OPTION,
) -> str:
    """One line for a model that could not be counted on one sample of ``input_shape``: the
    real cause (for TorchScript, the error inside the script) and, for a shape error, the hint."""
    message = (
        f"{name}: could not count parameters and FLOPs on an input of shape "
        f"{format_shape((1, *input_shape))} ({error_summary(error)})."
    )
    return with_shape_hint(message, error, shape_option)
