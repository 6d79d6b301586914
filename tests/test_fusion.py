"""Reciprocal rank fusion, against hand-computed values."""

from __future__ import annotations

import pytest

from fraga.search.fusion import convex, minmax, rrf, top

# FIXTURES =====================================================================
RUN_A = {"d1": 3.0, "d2": 2.0, "d3": 1.0}
RUN_B = {"d3": 0.9, "d1": 0.5}


# TESTS ========================================================================
def test_rrf_hand_computed():
    fused = rrf([RUN_A, RUN_B], k=60)
    assert fused["d1"] == pytest.approx(1 / (60 + 1) + 1 / (60 + 2))
    assert fused["d2"] == pytest.approx(1 / (60 + 2))
    assert fused["d3"] == pytest.approx(1 / (60 + 3) + 1 / (60 + 1))
    assert [d for d, _ in top(fused, 3)] == ["d1", "d3", "d2"]


def test_rrf_weights():
    fused = rrf([RUN_A, RUN_B], k=1, weights=[0.5, 2.0])
    assert fused["d3"] == pytest.approx(0.5 / (1 + 3) + 2.0 / (1 + 1))
    assert fused["d2"] == pytest.approx(0.5 / (1 + 2))


def test_rrf_does_not_change_inputs():
    a = dict(RUN_A)
    rrf([a, RUN_B])
    assert a == RUN_A


def test_rrf_bad_arguments():
    with pytest.raises(ValueError, match="one weight per run"):
        rrf([RUN_A, RUN_B], weights=[1.0])
    with pytest.raises(ValueError, match="positive"):
        rrf([RUN_A], k=0)


def test_empty_runs():
    assert rrf([{}, {}]) == {}
    assert top({}, 5) == []


def test_minmax_hand_computed():
    assert minmax(RUN_A) == {"d1": 1.0, "d2": 0.5, "d3": 0.0}
    assert minmax({"x": 2.0}) == {"x": 1.0}
    assert minmax({}) == {}


def test_convex_hand_computed():
    fused = convex([RUN_A, RUN_B], weights=[0.3, 0.7])
    # RUN_B normalised: d3 -> 1.0, d1 -> 0.0; d2 is missing from RUN_B and gets 0 there.
    assert fused["d1"] == pytest.approx(0.3 * 1.0 + 0.7 * 0.0)
    assert fused["d2"] == pytest.approx(0.3 * 0.5)
    assert fused["d3"] == pytest.approx(0.3 * 0.0 + 0.7 * 1.0)
    with pytest.raises(ValueError, match="one weight per run"):
        convex([RUN_A], weights=[0.5, 0.5])


def test_length_weight_hand_computed():
    from fraga.search.fusion import length_weight

    assert length_weight(14) == 0.5
    assert length_weight(7) == pytest.approx(7 / 21)
    assert length_weight(0) == 0.0
    assert length_weight(42, half=6) == pytest.approx(42 / 48)
    with pytest.raises(ValueError):
        length_weight(3, half=0)
