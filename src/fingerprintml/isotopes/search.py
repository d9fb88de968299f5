"""Bayesian hyperparameter search (scikit-optimize) of hierarchical F1 under cross-validation, and nested CV.

The selective model is searched node by node, top-down: see :func:`selective_search`.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import LeaveOneOut, StratifiedKFold
from skopt import gp_minimize
from skopt.space import Dimension, Integer, Real

from fingerprintml.isotopes.data import LEVELS, leaf_names
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.models import (
    SELECTIVE,
    compose_paths,
    fit_model,
    local_classifier,
    parent_members,
    parent_nodes,
    predict_paths,
)
from fingerprintml.logs import progress

log = logging.getLogger(__name__)

Splits = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SearchSettings:
    """What one Bayesian search evaluates: its space, budget, seed and processes.

    ``space`` is the config's ``{name: {low, high, prior}}`` of the learner, or for the selective model one space
    per candidate learner (``{learner: space}``).
    """

    space: dict[str, Any]
    n_calls: int
    n_initial_points: int
    seed: int
    n_jobs: int = 1


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


def fold_results(worker: Callable[..., list], splits: Splits, n_jobs: int, **kwargs: Any) -> list:
    """``worker(chunk, **kwargs)`` on the folds shared out over ``n_jobs`` processes; the items its chunks return
    (one per fold), in one list."""
    chunks = [splits[i::n_jobs] for i in range(n_jobs)] if n_jobs > 1 else [splits]
    results = Parallel(n_jobs=n_jobs)(delayed(worker)(chunk, **kwargs) for chunk in chunks if chunk)
    return [item for chunk in results for item in chunk]


def _over_folds(worker: Callable[..., list], splits: Splits, n_jobs: int, shape: tuple[int, ...], **kwargs: Any):
    """The out-of-fold predictions ``(test indices, values)`` of :func:`fold_results` gathered into one array of
    ``shape``."""
    predicted = np.full(shape, "", dtype=object)
    for test, values in fold_results(worker, splits, n_jobs, **kwargs):
        predicted[test] = values
    return predicted.astype(str)


def _fit_predict_folds(
    splits: Splits, *, X: np.ndarray, Y: np.ndarray, model: str, learner: str, params: dict[str, Any], seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for train, test in splits:
        estimator = fit_model(model, learner, params, seed, X[train], Y[train])
        out.append((test, predict_paths(estimator, X[test])))
    return out


def cross_val_paths(
    X: np.ndarray,
    Y: np.ndarray,
    splits: Splits,
    *,
    model: str,
    learner: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int = 1,
) -> np.ndarray:
    """Out-of-fold predicted label paths; the folds are shared out over ``n_jobs`` processes."""
    return _over_folds(
        _fit_predict_folds, splits, n_jobs, Y.shape, X=X, Y=Y, model=model, learner=learner, params=params, seed=seed
    )


SIGNIFICANT_DIGITS = 4


def evaluated_value(value: Any, dim: Dimension) -> Any:
    """The hyperparameter value a proposed point is evaluated at: a real rounded to 4 significant digits (kept in
    its bounds), an integer as a plain int.

    The Gaussian process's proposals differ in their last bits with the machine's BLAS kernels, and a libsvm fit
    can change with the last bit of C; evaluated unrounded, one search takes different paths on different
    machines. Rounded, last-bit differences no longer matter; a proposal between two nearly equal maxima of the
    expected improvement can still go either way.
    """
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(dim, Integer):
        return int(value)
    return min(max(float(f"{value:.{SIGNIFICANT_DIGITS}g}"), dim.low), dim.high)


def _gp_search(
    evaluate: Callable[[dict[str, Any]], float],
    space: dict[str, dict[str, Any]],
    n_calls: int,
    n_initial: int,
    seed: int,
) -> None:
    """gp_minimize (expected improvement) of ``-evaluate(params)`` over the config's search space."""
    dims = search_space(space)
    gp_minimize(
        lambda point: -evaluate({d.name: evaluated_value(v, d) for d, v in zip(dims, point, strict=True)}),
        dims,
        n_calls=n_calls,
        n_initial_points=min(n_initial, n_calls),
        random_state=seed,
        acq_func="EI",
    )


def _scored_row(Y: np.ndarray, predicted: np.ndarray, start: float, **columns: Any) -> dict[str, Any]:
    return {
        **columns,
        "hF1": hierarchical_f1(Y, predicted, original=True),
        "hF1_no_root": hierarchical_f1(Y, predicted, original=False),
        "seconds": time.perf_counter() - start,
    }


def bayes_search(
    X: np.ndarray,
    Y: np.ndarray,
    splits: Splits,
    settings: SearchSettings,
    *,
    model: str,
    learner: str,
    desc: str = "search",
) -> pd.DataFrame:
    """Gaussian-process Bayesian optimisation of the cross-validated hierarchical F1 (the original's metric).

    Returns one row per evaluated point: call number, hyperparameters, hF1 (root included, as the
    original), hF1 without the root, best-so-far hF1 and seconds. The selective model takes one space
    per candidate learner (``{learner: space}``) and is searched by :func:`selective_search`.
    """
    if model == SELECTIVE:
        return selective_search(X, Y, splits, settings, desc=desc)
    s = settings
    rows: list[dict[str, Any]] = []
    bar = progress(range(s.n_calls), desc=desc)

    def evaluate(params: dict[str, Any]) -> float:
        start = time.perf_counter()
        predicted = cross_val_paths(
            X, Y, splits, model=model, learner=learner, params=params, seed=s.seed, n_jobs=s.n_jobs
        )
        rows.append(_scored_row(Y, predicted, start, call=len(rows) + 1, **params))
        next(bar, None)
        return rows[-1]["hF1"]

    _gp_search(evaluate, s.space, s.n_calls, s.n_initial_points, s.seed)
    points = pd.DataFrame(rows)
    points["best_hF1"] = points["hF1"].cummax()
    log.info("%s: best hF1 %.4f at %s", desc, best_score(points), best_params(points, s.space))
    return points


def _fit_predict_node(
    splits: Splits, *, X: np.ndarray, Y: np.ndarray, parent: str, learner: str, params: dict[str, Any], seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    member, depth = parent_members(Y, parent)
    out, all_members = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libsvm's Platt-scaling deprecation, as in fit_model
        for train, test in splits:
            if member[test].any():
                inside = train[member[train]]
                local = local_classifier(learner, params, seed).fit(X[inside], Y[inside, depth])
            else:
                # The fold's training part holds all of the node's samples: one fit serves every such fold.
                if all_members is None:
                    all_members = local_classifier(learner, params, seed).fit(X[member], Y[member, depth])
                local = all_members
            out.append((test, local.predict(X[test])))
    return out


def node_cross_val_predictions(
    X: np.ndarray, Y: np.ndarray, splits: Splits, parent: str, choice: dict[str, Any], *, seed: int, n_jobs: int = 1
) -> np.ndarray:
    """Out-of-fold child of ``parent`` predicted for every sample by its local classifier (``choice``: its
    ``learner`` and ``params``), trained on the fold's training samples that go through ``parent``.

    Composed top-down (:func:`~fingerprintml.isotopes.models.compose_paths`) these give exactly the
    out-of-fold paths of the whole selective model, as every local classifier of a fold is trained without
    the fold's test samples.
    """
    learner, params = choice["learner"], choice["params"]
    return _over_folds(
        _fit_predict_node, splits, n_jobs, (len(Y),), X=X, Y=Y, parent=parent, learner=learner, params=params, seed=seed
    )


def selective_search(
    X: np.ndarray, Y: np.ndarray, splits: Splits, settings: SearchSettings, *, desc: str = "search"
) -> pd.DataFrame:
    """Per-node learner and hyperparameter search of the selective top-down model.

    Parent nodes are taken top-down. For each one, every candidate learner (``settings.space`` is
    ``{learner: space}``) gets its own Bayesian search (``settings.n_calls`` points) of the cross-validated hF1
    of the paths predicted so far: the nodes above are fixed at their choice and those below not predicted yet,
    so a path stops at this node's level. The node keeps its best point. The last node's scores are those of
    complete paths: its best is the model's CV score. Rows as :func:`bayes_search`, with the ``node`` and
    ``learner`` of each point.
    """
    s, spaces = settings, settings.space
    parents = parent_nodes(Y)
    rows: list[dict[str, Any]] = []
    decided: dict[str, np.ndarray] = {}
    bar = progress(range(len(parents) * len(spaces) * s.n_calls), desc=desc)
    for parent in parents:
        for learner, space in spaces.items():

            def evaluate(params: dict[str, Any], parent: str = parent, learner: str = learner) -> float:
                start = time.perf_counter()
                choice = {"learner": learner, "params": params}
                children = node_cross_val_predictions(X, Y, splits, parent, choice, seed=s.seed, n_jobs=s.n_jobs)
                predicted = compose_paths({**decided, parent: children}, len(Y))
                rows.append(_scored_row(Y, predicted, start, call=len(rows) + 1, node=parent, learner=learner))
                rows[-1].update(params)
                next(bar, None)
                return rows[-1]["hF1"]

            _gp_search(evaluate, space, s.n_calls, s.n_initial_points, s.seed)
        # Refitting the node's best point gives the same predictions again: the fits are seeded.
        choice = best_params(pd.DataFrame(rows), spaces)[parent]
        decided[parent] = node_cross_val_predictions(X, Y, splits, parent, choice, seed=s.seed, n_jobs=s.n_jobs)
    points = pd.DataFrame(rows)
    points["best_hF1"] = points["hF1"].cummax()
    log.info("%s: CV hF1 %.4f with %s", desc, best_score(points), best_params(points, spaces))
    return points


def best_params(points: pd.DataFrame, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Hyperparameters of the best point (the first one on ties), with integer dimensions as int.

    For the selective model (points with a ``node`` column, ``space`` = ``{learner: space}``): per parent
    node, ``{"learner", "params"}`` of its best point.
    """
    if "node" in points:
        choices = {}
        for node, rows in points.groupby("node", sort=False):
            best = rows.loc[rows["hF1"].idxmax()]
            choices[str(node)] = {"learner": best["learner"], "params": _typed(best, space[best["learner"]])}
        return choices
    return _typed(points.loc[points["hF1"].idxmax()], space)


def _typed(row: pd.Series, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {d.name: int(row[d.name]) if isinstance(d, Integer) else float(row[d.name]) for d in search_space(space)}


def best_score(points: pd.DataFrame) -> float:
    """The CV hF1 of the best point; for the selective model, of the last node's best (complete paths)."""
    if "node" in points:
        return float(points.loc[points["node"] == points["node"].iloc[-1], "hF1"].max())
    return float(points["hF1"].max())


def run_search(
    X: np.ndarray, Y: np.ndarray, settings: SearchSettings, *, model: str, learner: str, cv: str | int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The search of one run (``model`` with ``learner``) scored by ``cv``: every evaluated point, and the
    summary the evaluation refits (model, learner, cv, best hyperparameters and their CV hF1)."""
    splits = cv_splits(Y, cv, settings.seed)
    points = bayes_search(X, Y, splits, settings, model=model, learner=learner, desc=f"{model}-{learner}")
    best = {
        "model": model,
        "learner": learner,
        "cv": cv,
        "params": best_params(points, settings.space),
        "hF1": best_score(points),
    }
    return points, best


def nested_cv_paths(
    X: np.ndarray,
    Y: np.ndarray,
    settings: SearchSettings,
    *,
    model: str,
    learner: str,
    outer_folds: int,
    inner_cv: str | int,
) -> pd.DataFrame:
    """Nested CV: per outer stratified fold, the whole search (``settings``) runs on the training part only,
    each point scored by ``inner_cv``.

    Returns per sample its outer fold, the hyperparameters chosen without it and the predicted path.
    """
    rows = []
    for fold, (train, test) in enumerate(cv_splits(Y, outer_folds, settings.seed)):
        inner = cv_splits(Y[train], inner_cv, settings.seed)
        points = bayes_search(
            X[train],
            Y[train],
            inner,
            settings,
            model=model,
            learner=learner,
            desc=f"outer fold {fold + 1}/{outer_folds}",
        )
        params = best_params(points, settings.space)
        estimator = fit_model(model, learner, params, settings.seed, X[train], Y[train])
        predicted = predict_paths(estimator, X[test])
        for index, path in zip(test, predicted, strict=True):
            rows.append(
                {"index": int(index), "fold": fold + 1, "params": repr(params), **dict(zip(LEVELS, path, strict=True))}
            )
    rows.sort(key=lambda r: r["index"])
    return pd.DataFrame(rows)


def search_log(points: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every run's search points in one long table: a row per call and hyperparameter, with the node and learner
    the call tried (a single-learner run tries its learner on the whole hierarchy, node 'all')."""
    scores = ["hF1", "hF1_no_root", "best_hF1", "seconds"]
    tables = []
    for run, df in points.items():
        if "node" not in df:
            df = df.assign(node="all", learner=run.split("-", 1)[1])
        tables.append(df.assign(run=run))
    long = pd.concat(tables, ignore_index=True).melt(
        id_vars=["run", "call", "node", "learner", *scores], var_name="parameter"
    )
    # A call of one learner leaves the other learners' parameters empty.
    return long[long["value"].notna() & (long["value"].astype(str) != "")].sort_values(["run", "call", "parameter"])
