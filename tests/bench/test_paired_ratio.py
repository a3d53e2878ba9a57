"""A throughput row's ratio (bench/run.paired_ratio): the rounds' own ratios, not the ratio of
two medians taken apart, so that a machine slowing down between rounds does not move it."""

from __future__ import annotations

from bench.loadgen import LoadResult
from bench.run import _median, paired_ratio


def _run(rps: float) -> LoadResult:
    return LoadResult(
        "wrk", requests=int(rps * 10), seconds=10.0, errors=0, p50_ms=1.0, p95_ms=1.0, p99_ms=1.0
    )


def _side(*rounds: float) -> LoadResult:
    return _median([_run(rps) for rps in rounds])


def test_a_machine_slowing_between_rounds_leaves_the_ratio_alone() -> None:
    """Two rounds of three say the figure does half the baseline's work; the machine halves
    its speed for the second round, and the third is an outlier. The medians of each side,
    taken apart, would say 0.3 (60 of the figure's runs over 200 of the baseline's)."""
    figure = _side(100, 50, 60)
    baseline = _side(200, 100, 240)
    assert round(figure.rps / baseline.rps, 2) == 0.3
    assert paired_ratio(figure, baseline) == 0.5


def test_the_ratio_is_the_median_round_not_the_mean() -> None:
    figure = _side(100, 100, 100)
    baseline = _side(200, 100, 125)  # 0.5, 1.0, 0.8
    assert paired_ratio(figure, baseline) == 0.8
    assert figure.rounds == (100.0, 100.0, 100.0)


def test_without_rounds_it_is_the_ratio_of_the_two_runs() -> None:
    assert paired_ratio(_run(30), _run(40)) == 0.75
    assert paired_ratio(_run(30), _run(0)) == 0.0
