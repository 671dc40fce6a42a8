"""The figures a report draws, by file name, as a reader of the report expects them."""

ALL_FIGURES = {
    "cr_vs_energy_reduction_flops.png",
    "cr_vs_energy_reduction_params.png",
    "pd_vs_energy_reduction.png",
    "architecture_vs_energy.png",
    "batch_size_vs_energy.png",
    "batch_size_vs_fps.png",
    "cr_vs_energy_per_sample.png",
    "cr_vs_fps.png",
}
# Drawn only where the table carries a metric (the seed's YOUR_METRIC, or --energy-metadata).
METRIC_FIGURE = "energy_and_metric.png"
REDUCTION_FIGURES = {
    "cr_vs_energy_reduction_flops.png",
    "cr_vs_energy_reduction_params.png",
    "pd_vs_energy_reduction.png",
    # Against compression: no pruned model, no line.
    "cr_vs_energy_per_sample.png",
    "cr_vs_fps.png",
}
