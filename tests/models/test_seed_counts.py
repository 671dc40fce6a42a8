"""The zoo against the seed tool's published counts (tests/data/seed/results.csv).

``FLOPs``: the seed's is fvcore's count of one batch; the zoo's models counted our way
(``ModelCounts.fvcore_flops``) times the batch size give every published value.

``Parameters``: the seed cleaned its pruned models with torch-simplify, which folds what removed
channels still add (a removed channel whose bias passes the ReLU outputs a constant) into the
next layer's bias. Behind a zero-padded convolution that constant's contribution differs at the
border pixels, so the folded bias holds one value per output pixel, and counts as parameters:
kept channels x (output pixels - 1) more than a per-channel bias. Which conv layers get one
depends on the removed channels' bias values (random weights in the seed), not on the structure:
every published count is the zoo's structural count plus the per-pixel biases of some of the conv
layers fed by a pruned one, so docs/seed-paper.md can explain the published counts exactly.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from pytest_pruneenergy.models.architectures import (
    UNPRUNED_CONV_CHANNELS,
    build_model,
    pruned_architecture,
    unpruned_architecture,
)
from pytest_pruneenergy.models.counting import ModelCounts, count_architecture
from pytest_pruneenergy.models.naming import parse_model_name

SEED_RESULTS = Path(__file__).parents[1] / "data" / "seed" / "results.csv"
IMAGENET_SHAPE = (3, 224, 224)
SEED_CLASSES = 1000


def seed_architecture(model_name: str) -> dict:
    """The zoo's description of a model the seed names ``AlexNet_DATASET_random_PD3_...pth``."""
    name = parse_model_name(Path(model_name).stem)
    assert name is not None, model_name
    layout = name.architecture.lower()
    if name.is_baseline:
        return unpruned_architecture(layout, SEED_CLASSES)
    return pruned_architecture(
        layout, name.pruning_distribution, name.global_pruning_rate_percent, SEED_CLASSES
    )


@cache
def zoo_counts(model_name: str) -> ModelCounts:
    return count_architecture(seed_architecture(model_name), IMAGENET_SHAPE)


def published() -> pd.DataFrame:
    return pd.read_csv(SEED_RESULTS)


def per_pixel_bias_parameters(architecture: dict) -> list[int]:
    """What torch-simplify's per-pixel biases would add, per conv layer whose input channels were
    pruned: its kept channels x (output pixels - 1)."""
    with torch.device("meta"):
        model = build_model(architecture)
    convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    pixels: dict[nn.Module, int] = {}
    hooks = [
        conv.register_forward_hook(
            lambda module, _inputs, output: pixels.__setitem__(module, output.shape[-2:].numel())
        )
        for conv in convs
    ]
    model(torch.empty(1, *IMAGENET_SHAPE, device="meta"))
    for hook in hooks:
        hook.remove()
    unpruned = UNPRUNED_CONV_CHANNELS[architecture["layout"]]
    return [
        conv.out_channels * (pixels[conv] - 1)
        for previous, conv, channels in zip(convs, convs[1:], unpruned, strict=False)
        if previous.out_channels < channels
    ]


def subset_sums(values: list[int]) -> set[int]:
    return {
        sum(chosen)
        for size in range(len(values) + 1)
        for chosen in itertools.combinations(values, size)
    }


def test_the_seed_data_holds_its_whole_grid():
    table = published()
    assert table["MODEL_NAME"].nunique() == 198
    assert sorted(table["BATCH_SIZE"].unique()) == [1, 8, 16, 32, 64]


def test_the_zoos_fvcore_flops_times_the_batch_size_equal_all_198_published_values():
    table = published()
    expected = [
        zoo_counts(model).fvcore_flops * batch_size
        for model, batch_size in zip(table["MODEL_NAME"], table["BATCH_SIZE"], strict=True)
    ]
    mismatched = table[table["FLOPs"] != expected]
    assert mismatched.empty, mismatched[["MODEL_NAME", "BATCH_SIZE", "FLOPs"]].head()


def test_macs_alone_match_none_of_the_published_flops():
    # The seed's FLOPs are not MACs: the pool's elements make the difference in every model.
    table = published()
    first_batch = table[table["BATCH_SIZE"] == 1]
    macs = [zoo_counts(model).macs for model in first_batch["MODEL_NAME"]]
    assert (first_batch["FLOPs"] != macs).all()


def test_unpruned_models_have_their_structural_parameter_counts():
    table = published()
    unpruned = table[table["MODEL_NAME"].str.contains("_UNPRUNED")].drop_duplicates("MODEL_NAME")
    assert len(unpruned) == 3
    for model, parameters in zip(unpruned["MODEL_NAME"], unpruned["Parameters"], strict=True):
        assert zoo_counts(model).params == parameters


def test_pruned_models_published_parameters_are_structural_plus_per_pixel_biases():
    table = published().drop_duplicates("MODEL_NAME")
    pruned = table[~table["MODEL_NAME"].str.contains("_UNPRUNED")]
    assert len(pruned) == 195
    for model, parameters in zip(pruned["MODEL_NAME"], pruned["Parameters"], strict=True):
        structural = zoo_counts(model).params
        assert structural < parameters, model
        biases = per_pixel_bias_parameters(seed_architecture(model))
        assert parameters - structural in subset_sums(biases), model


def test_the_alexnet_pd3_gpr_40_example_of_the_docs():
    model = "AlexNet_DATASET_random_PD3_GPR-40_PRUNED_SEED_23.pth"
    row = published().query("MODEL_NAME == @model").iloc[0]
    assert (row["Parameters"], zoo_counts(model).params) == (29_288_367, 29_103_847)
    # conv2-conv5 keep 100, 250, 195 and 220 channels on 27x27, 13x13, 13x13, 13x13 pixels, and
    # all four carry a per-pixel bias.
    biases = per_pixel_bias_parameters(seed_architecture(model))
    assert biases == [100 * (27 * 27 - 1), 250 * (13 * 13 - 1), 195 * 168, 220 * 168]
    assert row["Parameters"] - zoo_counts(model).params == sum(biases) == 184_520


@pytest.mark.parametrize("layout", ["alexnet", "vgg11", "vgg16"])
def test_an_unpruned_model_gets_no_per_pixel_biases(layout):
    assert per_pixel_bias_parameters(unpruned_architecture(layout, SEED_CLASSES)) == []
