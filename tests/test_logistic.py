"""Logistic regression, the conditional logit and grouped folds (fraga.logistic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraga.logistic import Logistic, fit, fit_choice, group_folds, sigmoid


def test_a_hand_made_model_computes_the_logit_by_hand():
    model = Logistic(("a", "b"), mean=(1.0, 0.0), scale=(2.0, 1.0), coef=(0.5, -1.0), intercept=0.25)
    # z = ((3 - 1) / 2, (1 - 0) / 1) = (1, 1); logit = 0.5 - 1 + 0.25 = -0.25
    assert model.logit(np.array([[3.0, 1.0]]))[0] == pytest.approx(-0.25)
    assert model.proba(np.array([[3.0, 1.0]]))[0] == pytest.approx(1 / (1 + math.exp(0.25)))
    assert Logistic.from_dict(model.to_dict()) == model


def test_fit_without_features_learns_the_base_rate():
    x = np.zeros((4, 1))
    y = np.array([1, 0, 0, 0])
    model = fit(x, y, ["constant"], l2=1.0)
    assert sigmoid(np.array([model.intercept]))[0] == pytest.approx(0.25, abs=1e-6)


def test_fit_separates_a_clear_signal_and_ridge_shrinks_it():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 2))
    y = (x[:, 0] + 0.1 * rng.standard_normal(400) > 0).astype(float)
    loose, tight = fit(x, y, ["signal", "noise"], l2=0.1), fit(x, y, ["signal", "noise"], l2=100.0)
    assert loose.coef[0] > 3 * abs(loose.coef[1])
    assert abs(tight.coef[0]) < abs(loose.coef[0])
    assert np.mean((loose.proba(x) > 0.5) == y) > 0.9


def test_fit_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="do not fit together"):
        fit(np.zeros((3, 2)), np.zeros(2), ["a", "b"])


def test_conditional_logit_picks_the_row_that_differs_within_each_group():
    # In every group the right row has the larger first feature; the second feature is a
    # per-group constant, which the softmax cannot use.
    rows, labels, groups = [], [], []
    rng = np.random.default_rng(1)
    for g in range(30):
        level = rng.normal()
        for i in range(4):
            right = i == g % 4
            rows.append([rng.normal() + (2.0 if right else 0.0), level])
            labels.append(float(right))
            groups.append(f"q{g}")
    model = fit_choice(np.array(rows), np.array(labels), groups, ["signal", "level"], l2=1.0)
    assert model.coef[0] > 1.0 and model.intercept == 0.0
    assert abs(model.coef[1]) < 0.1 * model.coef[0]


def test_group_folds_keep_groups_together_and_cover_every_row():
    groups = ["a", "a", "b", "c", "c", "c", "d", "e"]
    folds = group_folds(groups, 3, seed=2)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    for fold in folds:
        names = {groups[i] for i in fold}
        assert all(groups[i] in names for i in range(len(groups)) if groups[i] in names)
        assert all(all(groups[j] not in names for j in other) for other in folds if other is not fold)
