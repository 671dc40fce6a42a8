"""Do the pruned models' widths still fit the tensor cores?

Tensor cores take matrices whose inner widths are multiples of 8 (FP16/bf16, TF32); pruning by
rates leaves widths such as 45 or 213, which the libraries pad or run on slower kernels. So a
pruned model whose widths are mostly off multiples of 8 can save less energy than its FLOPs
suggest, most of all where the runtime fuses kernels for given shapes (``torch.compile``).

Per pruned model (its ``Widths Not x8 (%)``, the same at every batch size): those with more than
half of their widths off multiples of 8, against the largest share among the unpruned models
(whose inputs and classes count too). Where one architecture and batch size holds pruned models
of both kinds, the energy saved per point of FLOPs CR of each kind, side by side: a difference
there is the run's own evidence, not a rule. Like every finding, it is made per numeric format
and runtime.
"""

from __future__ import annotations

import pandas as pd

from .. import schema as col
from ..schema import model_stem
from .rows import analysis_rows, is_baseline, pruned_rows
from .uncertainty import listed

# More than this share of a model's widths off multiples of 8 makes it "mostly unaligned".
MOSTLY_UNALIGNED_PERCENT = 50.0
# The models named in a sentence; the rest are counted.
MODELS_NAMED = 4
UNALIGNED = "_mostly_unaligned"
SAVED_PER_CR = "_saved_per_cr_point"


def alignment_sentences(table: pd.DataFrame) -> list[str]:
    """The mostly unaligned pruned models, and where the run holds both kinds, what each kind
    saved per point of FLOPs CR; nothing where the table has no width shares."""
    rows = analysis_rows(table)
    if col.UNALIGNED_X8 not in rows.columns:
        return []
    shares = pd.to_numeric(rows[col.UNALIGNED_X8], errors="coerce")
    rows = rows.assign(**{col.UNALIGNED_X8: shares}).dropna(subset=[col.UNALIGNED_X8])
    pruned = pruned_rows(rows)
    if pruned.empty:
        return []
    per_model = pruned.groupby(col.MODEL_NAME, sort=True)[col.UNALIGNED_X8].max()
    unaligned = per_model[per_model > MOSTLY_UNALIGNED_PERCENT]
    if unaligned.empty:
        return []
    names = [model_stem(str(name)) for name in unaligned.index]
    shown = listed(names if len(names) <= MODELS_NAMED else [*names[:MODELS_NAMED], "others"])
    baselines = rows[is_baseline(rows)][col.UNALIGNED_X8]
    against = (
        f", against at most {baselines.max():.0f} % in the unpruned models"
        if not baselines.empty
        else ""
    )
    sentences = [
        f"{len(unaligned)} of {len(per_model)} pruned models have more than half of their layer "
        f"widths off multiples of 8 ({shown}){against}: tensor cores pad such widths or run "
        "slower kernels, so these models can save less energy than their FLOPs CR suggests, "
        "above all compiled; Torch-Pruning's round_to=8 (pruneenergy zoo --round-to 8) keeps "
        "pruned widths multiples of 8"
    ]
    return sentences + _side_by_side(pruned)


def _side_by_side(pruned: pd.DataFrame) -> list[str]:
    """Per architecture and batch size holding both kinds of pruned model: the mean energy
    reduction per point of FLOPs CR of each. The rows are of one numeric format and runtime
    (analysis.findings_by_question makes findings per variant and names it)."""
    rows = pruned[pruned[col.CR_FLOPS] > 0].copy()
    rows[UNALIGNED] = rows[col.UNALIGNED_X8] > MOSTLY_UNALIGNED_PERCENT
    rows[SAVED_PER_CR] = rows[col.ENERGY_REDUCTION] / rows[col.CR_FLOPS]
    sentences = []
    for (architecture, batch_size), group in rows.groupby(
        [col.ARCHITECTURE, col.BATCH_SIZE], sort=True
    ):
        means = group.groupby(UNALIGNED)[SAVED_PER_CR].mean()
        if len(means) < 2:
            continue
        sentences.append(
            f"{architecture}, batch {batch_size}: per point of FLOPs CR, the mostly unaligned "
            "pruned models saved "
            f"{means[True]:.2f} points of energy on average and the others {means[False]:.2f}"
        )
    return sentences
