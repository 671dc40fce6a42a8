"""A manifest pairs files whose names follow no convention."""

from __future__ import annotations

import pytest

from pytest_pruneenergy.models.manifest import ManifestError, name_from_manifest, parse_manifest
from pytest_pruneenergy.models.pairing import baselines_of

LINES = parse_manifest(
    [
        "# ResNet-50 pruned two ways",
        "resnet50_l1_*.pt -> resnet50_dense.pt method=l1 pd=1",
        "resnet50_taylor_40.pt -> resnet50_dense.pt method=taylor gpr=40",
        "",
    ]
)


def test_each_file_gets_the_family_and_labels_of_its_line():
    pruned = name_from_manifest("resnet50_l1_30", "resnet50_l1_30.pt", LINES)
    assert pruned is not None and not pruned.is_baseline
    assert (pruned.architecture, pruned.method, pruned.pruning_distribution) == (
        "resnet50_dense",
        "l1",
        1,
    )
    taylor = name_from_manifest("resnet50_taylor_40", "resnet50_taylor_40.pt", LINES)
    assert taylor is not None and taylor.global_pruning_rate_percent == 40.0
    baseline = name_from_manifest("resnet50_dense", "resnet50_dense.pt", LINES)
    assert baseline is not None and baseline.is_baseline
    assert name_from_manifest("other", "other.pt", LINES) is None


def test_files_of_a_manifest_pair_with_its_baseline():
    files = ["resnet50_dense.pt", "resnet50_l1_30.pt", "resnet50_taylor_40.pt"]
    names = {f: name_from_manifest(f.removesuffix(".pt"), f, LINES) for f in files}
    baselines = baselines_of(files, name_of=names.get, stem_of=lambda f: f)
    assert baselines == ["resnet50_dense.pt"] * 3


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("resnet50_*.pt resnet50.pt", "expected GLOB -> BASELINE"),
        ("resnet50_*.pt -> ", "expected GLOB -> BASELINE"),
        ("a*.pt -> b.pt speed=fast", "'speed=fast' is not key=value with key one of"),
    ],
)
def test_a_line_that_cannot_be_read_is_refused_with_the_line(line, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest([line])


def test_a_label_that_is_no_number_is_refused():
    lines = parse_manifest(["a*.pt -> b.pt pd=three"])
    with pytest.raises(ManifestError, match="pd and gpr are numbers"):
        name_from_manifest("a1", "a1.pt", lines)
