"""The paper's questions, one module each, answered in words from a result table.

- ``proportionality``: does energy reduction follow the compression ratio linearly, and does
  doubling the compression double the saving?
- ``breaks``: where does that relation break, and where does pruning cost energy (the
  low-compression dip)?
- ``pd_ranking``: which pruning distribution saves most, per architecture and batch size over
  all GPRs, then per GPR?
- ``batch_size``: what does batch size do to energy per sample, FPS and the saving?
- ``summary``: the few sentences at the top of report.html.

Every comparison carries its uncertainty (``uncertainty``): the 95 % CI where the table has one
(ours), one standard deviation of the trials where it has only that (the seed tool's CSV), and
values whose intervals overlap are "indistinguishable", never ranked by a tie-break. ``rows``
prepares a table for all of them.
"""
