"""Bayesian hyperparameter search (scikit-optimize) of hierarchical F1 under cross-validation, and nested CV."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import LeaveOneOut, StratifiedKFold
from skopt import gp_minimize
from skopt.space import Dimension, Integer, Real

from fingerprintml.isotopes.data import LEVELS, leaf_names
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.models import fit_model, predict_paths
from fingerprintml.logs import progress

log = logging.getLogger(__name__)

Splits = list[tuple[np.ndarray, np.ndarray]]


def search_space(space: dict[str, dict[str, Any]]) -> list[Dimension]:
    """skopt dimensions from the config's ``{name: {low, high, prior}}``; integer bounds give an integer."""
    dims: list[Dimension] = []
    for name, spec in space.items():
        prior = spec.get("prior", "uniform")
        if isinstance(spec["low"], int) and isinstance(spec["high"], int):
            dims.append(Integer(spec["low"], spec["high"], prior=prior, name=name))
        else:
            dims.append(Real(float(spec["low"]), float(spec["high"]), prior=prior, name=name))
    return dims


def cv_splits(Y: np.ndarray, cv: str | int, seed: int) -> Splits:
    """Leave-one-out (``cv='loo'``) or seeded stratified k-fold on the leaf classes (``cv=k``)."""
    n = len(Y)
    if cv == "loo":
        return list(LeaveOneOut().split(np.zeros(n)))
    folds = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(n), leaf_names(Y)))


def _fit_predict_folds(model, learner, params, seed, X, Y, splits: Splits) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for train, test in splits:
        estimator = fit_model(model, learner, params, seed, X[train], Y[train])
        out.append((test, predict_paths(estimator, X[test])))
    return out


def cross_val_paths(
    model: str,
    learner: str,
    params: dict[str, Any],
    seed: int,
    X: np.ndarray,
    Y: np.ndarray,
    splits: Splits,
    n_jobs: int = 1,
) -> np.ndarray:
    """Out-of-fold predicted label paths; the folds are shared out over ``n_jobs`` processes."""
    chunks = [splits[i::n_jobs] for i in range(n_jobs)] if n_jobs > 1 else [splits]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict_folds)(model, learner, params, seed, X, Y, chunk) for chunk in chunks if chunk
    )
    predicted = np.full(Y.shape, "", dtype=object)
    for chunk in results:
        for test, paths in chunk:
            predicted[test] = paths
    return predicted.astype(str)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def bayes_search(
    model: str,
    learner: str,
    space: dict[str, dict[str, Any]],
    X: np.ndarray,
    Y: np.ndarray,
    splits: Splits,
    n_calls: int,
    n_initial_points: int,
    seed: int,
    n_jobs: int = 1,
    desc: str = "search",
) -> pd.DataFrame:
    """Gaussian-process Bayesian optimisation of the cross-validated hierarchical F1 (the original's metric).

    Returns one row per evaluated point: call number, hyperparameters, hF1 (root included, as the
    original), hF1 without the root, best-so-far hF1 and seconds.
    """
    dims = search_space(space)
    names = [d.name for d in dims]
    rows: list[dict[str, Any]] = []
    bar = progress(range(n_calls), desc=desc)

    def objective(point: list[Any]) -> float:
        params = {name: _plain(v) for name, v in zip(names, point, strict=True)}
        start = time.perf_counter()
        predicted = cross_val_paths(model, learner, params, seed, X, Y, splits, n_jobs)
        score = hierarchical_f1(Y, predicted, original=True)
        rows.append(
            {
                "call": len(rows) + 1,
                **params,
                "hF1": score,
                "hF1_no_root": hierarchical_f1(Y, predicted, original=False),
                "seconds": time.perf_counter() - start,
            }
        )
        next(bar, None)
        return -score

    gp_minimize(
        objective,
        dims,
        n_calls=n_calls,
        n_initial_points=min(n_initial_points, n_calls),
        random_state=seed,
        acq_func="EI",
    )
    points = pd.DataFrame(rows)
    points["best_hF1"] = points["hF1"].cummax()
    best = points.loc[points["hF1"].idxmax()]
    log.info("%s: best hF1 %.4f at %s", desc, best["hF1"], {n: best[n] for n in names})
    return points


def best_params(points: pd.DataFrame, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Hyperparameters of the best point (the first one on ties), with integer dimensions as int."""
    best = points.loc[points["hF1"].idxmax()]
    dims = search_space(space)
    return {d.name: int(best[d.name]) if isinstance(d, Integer) else float(best[d.name]) for d in dims}


def nested_cv_paths(
    model: str,
    learner: str,
    space: dict[str, dict[str, Any]],
    X: np.ndarray,
    Y: np.ndarray,
    outer_folds: int,
    inner_cv: str | int,
    n_calls: int,
    n_initial_points: int,
    seed: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Nested CV: per outer stratified fold, the whole search runs on the training part only.

    Returns per sample its outer fold, the hyperparameters chosen without it and the predicted path.
    """
    rows = []
    for fold, (train, test) in enumerate(cv_splits(Y, outer_folds, seed)):
        inner = cv_splits(Y[train], inner_cv, seed)
        points = bayes_search(
            model,
            learner,
            space,
            X[train],
            Y[train],
            inner,
            n_calls,
            n_initial_points,
            seed,
            n_jobs,
            desc=f"outer fold {fold + 1}/{outer_folds}",
        )
        params = best_params(points, space)
        estimator = fit_model(model, learner, params, seed, X[train], Y[train])
        predicted = predict_paths(estimator, X[test])
        for index, path in zip(test, predicted, strict=True):
            rows.append(
                {"index": int(index), "fold": fold + 1, "params": repr(params), **dict(zip(LEVELS, path, strict=True))}
            )
    rows.sort(key=lambda r: r["index"])
    return pd.DataFrame(rows)
