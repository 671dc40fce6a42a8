"""Energy in the units people decide in: per million inferences, in kWh, grams of CO2e and
money.

The board's energy per sample, as measured, times a million, in kWh. CO2e and cost are of the
facility's energy: the board's times the PUE (power usage effectiveness: the facility's energy
over its IT equipment's), times the grid's carbon intensity or the price of a kWh. The defaults:

- grid intensity 481 gCO2e/kWh: the world's electricity in 2023 (Ember, Global Electricity
  Review 2024);
- PUE 1.58: the average data centre in 2023 (Uptime Institute, Global Data Center Survey 2023);
- no price: prices differ several-fold between places and contracts, so the cost column stays
  empty unless a price is given.

The board's energy leaves out the host (CPU, memory, network): these are lower bounds of what
serving the model costs, like the energy they start from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# The settings read the defaults and DeploymentUnits from here while pytest starts, before any
# run: pandas (and the schema, which imports it) load in the functions that need them.

DEFAULT_GRID_GCO2E_PER_KWH = 481.0
DEFAULT_PUE = 1.58
JOULES_PER_KWH = 3.6e6
INFERENCES = 1e6


@dataclass(frozen=True)
class DeploymentUnits:
    """Where the model would run: its grid's carbon intensity (gCO2e per kWh), its facility's
    PUE, and the price of a kWh (None: not given; in any currency, the cost column's)."""

    grid_gco2e_per_kwh: float = DEFAULT_GRID_GCO2E_PER_KWH
    pue: float = DEFAULT_PUE
    price_per_kwh: float | None = None


def kwh_per_million(joules_per_sample: float) -> float:
    """The board's energy for a million inferences, in kWh."""
    return joules_per_sample * INFERENCES / JOULES_PER_KWH


def with_units(table: pd.DataFrame, units: DeploymentUnits) -> pd.DataFrame:
    """``table`` with its energy per million inferences (kWh), its CO2e (g) and, where a price
    is given, its cost; empty where the energy per sample is."""
    import pandas as pd

    from . import schema as col

    joules = pd.to_numeric(table[col.JOULES_PER_SAMPLE], errors="coerce")
    kwh = joules.map(lambda value: kwh_per_million(value) if math.isfinite(value) else math.nan)
    facility_kwh = kwh * units.pue
    price = math.nan if units.price_per_kwh is None else units.price_per_kwh
    return table.assign(
        **{
            col.KWH_PER_MILLION: kwh,
            col.CO2E_GRAMS_PER_MILLION: facility_kwh * units.grid_gco2e_per_kwh,
            col.COST_PER_MILLION: facility_kwh * price,
        }
    )


def per_million_sentence(table: pd.DataFrame) -> str | None:
    """At the largest batch size measured, per architecture: the unpruned model and the pruned
    model of lowest energy, per million inferences (kWh, g CO2e, and cost where priced); None
    where the table has no such column or nothing measured."""
    import pandas as pd

    from . import schema as col

    if col.KWH_PER_MILLION not in table.columns:
        return None
    rows = col.measured_rows(table.reindex(columns=list(col.COLUMNS))).dropna(
        subset=[col.KWH_PER_MILLION, col.ARCHITECTURE]
    )
    if rows.empty:
        return None
    batch_size = int(pd.to_numeric(rows[col.BATCH_SIZE]).max())
    at_batch = rows[pd.to_numeric(rows[col.BATCH_SIZE]) == batch_size]
    parts = []
    for architecture, group in at_batch.groupby(col.ARCHITECTURE, sort=True):
        unpruned = group[group[col.PRUNING_DISTRIBUTION].map(col.is_unpruned_label)]
        pruned = group[~group[col.PRUNING_DISTRIBUTION].map(col.is_unpruned_label)]
        said = []
        if not unpruned.empty:
            said.append(f"unpruned {_amounts(unpruned.iloc[0])}")
        if not pruned.empty:
            lowest = pruned.loc[pd.to_numeric(pruned[col.KWH_PER_MILLION]).idxmin()]
            said.append(f"its lowest pruned {_amounts(lowest)}")
        if said:
            parts.append(f"{architecture} {', '.join(said)}")
    if not parts:
        return None
    return f"Per million inferences at batch {batch_size}: {'; '.join(parts)}"


def _amounts(row: pd.Series) -> str:
    import pandas as pd

    from . import schema as col

    kwh, grams = float(row[col.KWH_PER_MILLION]), float(row[col.CO2E_GRAMS_PER_MILLION])
    text = f"{kwh:.3g} kWh, {grams:.3g} g CO2e"
    cost = pd.to_numeric(row[col.COST_PER_MILLION], errors="coerce")
    return text if pd.isna(cost) else f"{text}, cost {float(cost):.3g}"
