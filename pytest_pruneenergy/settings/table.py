"""Every option in one table: the rows of what is measured, then of what is done with the
results."""

from __future__ import annotations

from .option import Option
from .rows_measuring import MEASURING_ROWS
from .rows_results import RESULTS_ROWS

OPTIONS: tuple[Option, ...] = MEASURING_ROWS + RESULTS_ROWS
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}
