from pytest_pruneenergy.report.findings.proportionality import SEED_PARAMETERS_CAVEAT
from pytest_pruneenergy.report.findings.summary import summary_sentences

from ..tables import as_seed_tool, curve, table, unpruned


def bent_curves(**spread):
    """Two PDs, each flat and costing energy up to CR 20, then rising 1.5 points per point."""
    reductions = [-5, 0, 15, 30, 45, 60, 75]
    return table(
        unpruned(**spread), *curve(reductions, 1, **spread), *curve(reductions, 2, **spread)
    )


def test_the_summary_answers_each_question_over_all_curves():
    # One architecture at one batch size: no PD ranking across groups, no batch-size effect.
    data, dip, proportional, breaks = summary_sentences(bent_curves(ci95=0.001))

    assert data.startswith("15 measured rows: 15 models of 1 architectures at batch sizes 8")
    assert "intervals are 95 % CIs" in data
    assert dip.startswith(
        "Pruning costs energy at low compression: 2 of 14 pruned rows use more energy per "
        "sample than their unpruned model (2 beyond the uncertainty), 2 of them at GPR 10"
    )
    assert proportional.startswith("Energy reduction grows with FLOPs CR")
    assert "more than doubles the saving in 2" in proportional
    assert breaks == (
        "2 of 2 curves break beyond their uncertainty, once each, at FLOPs CR 20 % (half of "
        "them at 20 %)"
    )


def test_the_summary_of_the_seeds_data_says_what_its_intervals_and_parameters_are():
    sentences = summary_sentences(as_seed_tool(bent_curves(std=0.001)))
    assert "± one STD of its trials" in sentences[0]
    assert sentences[-1] == f"Parameter CRs: {SEED_PARAMETERS_CAVEAT}"


def test_an_empty_table_has_no_summary():
    assert summary_sentences(table()) == []


def test_the_summarys_dip_without_any_uncertainty_says_so_and_counts_none_beyond_it():
    # It said "(0 beyond the uncertainty)": every row within an interval nobody knew.
    dip = summary_sentences(bent_curves())[1]
    assert dip.startswith(
        "Pruning costs energy at low compression: 2 of 14 pruned rows use more energy per "
        "sample than their unpruned model (uncertainty unknown)"
    )
