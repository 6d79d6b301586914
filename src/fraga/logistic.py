"""L2-regularised logistic regression and grouped k-fold cross-validation, in numpy.

Pure functions on plain arrays: fraga's answer and abstention models are small (a few
dozen features, a few thousand rows), so Newton's method converges in a handful of
steps and needs no extra dependency. Features are standardised with the training rows'
mean and standard deviation, which are stored with the weights.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Logistic:
    """A fitted model: ``p = sigmoid(((x - mean) / scale) @ coef + intercept)``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def proba(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(x))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Logistic:
        n = len(data["features"])
        if not (len(data["mean"]) == len(data["scale"]) == len(data["coef"]) == n):
            raise ValueError("model arrays differ in length from its feature list")
        return cls(
            tuple(data["features"]),
            tuple(map(float, data["mean"])),
            tuple(map(float, data["scale"])),
            tuple(map(float, data["coef"])),
            float(data["intercept"]),
        )


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    *,
    l2: float = 1.0,
    weights: np.ndarray | None = None,
    iterations: int = 50,
) -> Logistic:
    """Fit by Newton's method, minimising log loss + ``l2`` / 2 * |coef|^2 (intercept free).

    Args:
        x: (n, d) features.
        y: (n,) labels in {0, 1}.
        features: d feature names.
        l2: Ridge strength on the standardised coefficients. Defaults to 1.0.
        weights: Optional (n,) row weights. Defaults to 1 each.
        iterations: Newton steps at most. Defaults to 50.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or x.shape[1] != len(features):
        raise ValueError(f"x {x.shape}, y {y.shape} and {len(features)} feature names do not fit together")
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    scale = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    ridge = np.full(z.shape[1], l2)
    ridge[-1] = 0.0
    for _ in range(iterations):
        p = sigmoid(z @ beta)
        grad = z.T @ (w * (p - y)) + ridge * beta
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(ridge + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return Logistic(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()), tuple(beta[:-1].tolist()), float(beta[-1]))


def fit_choice(
    x: np.ndarray, y: np.ndarray, groups: Sequence[str], features: Sequence[str], *, l2: float = 1.0, iterations: int = 50
) -> Logistic:
    """Fit a conditional logit: within each group (a question's candidates), the chance that
    row i is the right one is ``softmax(z_i @ coef)``; rows with ``y = 1`` share the target.

    It learns which candidate to pick rather than whether each row is right, so it is
    not thrown by questions with many or few candidates. Groups without a positive row
    are left out. The intercept is 0 (it cancels in the softmax).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
    scale = x.std(axis=0) if len(x) else np.ones(x.shape[1])
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale
    index: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        index.setdefault(g, []).append(i)
    blocks = [(z[rows], y[rows] / y[rows].sum()) for rows in map(np.asarray, index.values()) if y[rows].sum() > 0]

    def loss(b: np.ndarray) -> float:
        total = 0.5 * l2 * float(b @ b)
        for zb, target in blocks:
            s = zb @ b
            top = s.max()
            total += top + float(np.log(np.exp(s - top).sum())) - float(target @ s)
        return total

    beta = np.zeros(z.shape[1])
    current = loss(beta)
    for _ in range(iterations):
        grad = l2 * beta
        hess = np.diag(np.full(len(beta), l2 + 1e-9))
        for zb, target in blocks:
            s = zb @ beta
            p = np.exp(s - s.max())
            p /= p.sum()
            mu = p @ zb
            grad += mu - target @ zb
            centred = zb - mu
            hess += (centred * p[:, None]).T @ centred
        step = np.linalg.solve(hess, grad)
        rate = 1.0
        while rate > 1e-4 and loss(beta - rate * step) > current:  # damped Newton: never go uphill
            rate /= 2
        beta = beta - rate * step
        previous, current = current, loss(beta)
        if previous - current < 1e-9:
            break
    return Logistic(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()), tuple(beta.tolist()), 0.0)


def group_folds(groups: Sequence[str], k: int, *, seed: int = 0) -> list[np.ndarray]:
    """``k`` test folds of row indices; rows of one group (a question) stay together."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: n % k for n, i in enumerate(order)}
    labels = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(labels == f) for f in range(k)]
