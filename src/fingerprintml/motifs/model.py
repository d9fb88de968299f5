"""Learning Rw from which atoms a cut-out keeps (xgboost, Bayesian hyperparameter search) and per-atom SHAP values."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shap
import xgboost as xgb
from sklearn.metrics import mean_absolute_error, r2_score
from skopt import gp_minimize
from skopt.space import Integer, Real

from fingerprintml.io import atomic_path
from fingerprintml.motifs.catalogue import cutout_features
from fingerprintml.motifs.structure import Cluster
from fingerprintml.seeds import rng_for, seed_for

LOG = logging.getLogger("fingerprintml")


def split_indices(n: int, validation: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded random train / validation / test partition of ``n`` rows."""
    order = rng_for(seed, "motifs", "split").permutation(n)
    n_test, n_val = round(test * n), round(validation * n)
    if n - n_test - n_val < 10 or n_val < 5 or n_test < 5:
        raise ValueError(f"{n} cut-outs are too few for validation {validation} and test {test} fractions")
    return {"test": order[:n_test], "validation": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}


def _dimensions(space: dict) -> list:
    dims = []
    for name, dim in space.items():
        if isinstance(dim["low"], int) and isinstance(dim["high"], int):
            dims.append(Integer(dim["low"], dim["high"], name=name))
        else:
            dims.append(Real(float(dim["low"]), float(dim["high"]), prior=dim.get("prior", "uniform"), name=name))
    return dims


def regressor(params: dict, n_estimators: int, threads: int, seed: int, early_stopping: int | None) -> xgb.XGBRegressor:
    """The xgboost model of Rw with hyperparameters ``params`` (mean absolute error as evaluation metric)."""
    return xgb.XGBRegressor(
        n_estimators=n_estimators,
        early_stopping_rounds=early_stopping,
        eval_metric="mae",
        tree_method="hist",
        n_jobs=threads,
        random_state=seed,
        **params,
    )


@dataclass(frozen=True)
class ModelSettings:
    """The xgboost model of Rw: validation and test fractions, the Bayesian search (calls, initial points, space)
    and the boosting budget (trees, early-stopping rounds)."""

    validation: float
    test: float
    n_calls: int
    n_initial_points: int
    max_estimators: int
    early_stopping: int
    space: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: dict, n_calls: int) -> ModelSettings:
        """Settings from the ``motifs.model`` block and the dataset's ``model.n_calls``."""
        return cls(
            validation=cfg["validation"],
            test=cfg["test"],
            n_calls=n_calls,
            n_initial_points=cfg["n_initial_points"],
            max_estimators=cfg["max_estimators"],
            early_stopping=cfg["early_stopping"],
            space=cfg["space"],
        )


def train_model(
    features: pd.DataFrame,
    target: np.ndarray,
    splits: dict[str, np.ndarray],
    settings: ModelSettings,
    *,
    seed: int,
    threads: int,
) -> tuple[xgb.XGBRegressor, pd.DataFrame, dict]:
    """Bayesian search (validation MAE, early stopping) then the final model; returns it, the search log, metrics."""
    x = features.to_numpy(dtype=np.float32)
    tr, va = splits["train"], splits["validation"]
    dims = _dimensions(settings.space)
    n_calls, log = settings.n_calls, []

    def objective(values: list) -> float:
        params = {d.name: (int(v) if isinstance(d, Integer) else float(v)) for d, v in zip(dims, values, strict=True)}
        model = regressor(params, settings.max_estimators, threads, seed_for(seed, "xgboost"), settings.early_stopping)
        model.fit(x[tr], target[tr], eval_set=[(x[va], target[va])], verbose=False)
        mae = mean_absolute_error(target[va], model.predict(x[va], iteration_range=(0, model.best_iteration + 1)))
        log.append({**params, "n_estimators": model.best_iteration + 1, "validation_mae": mae})
        LOG.info("search point %d/%d: validation MAE %.4f (%d trees)", len(log), n_calls, mae, model.best_iteration + 1)
        return mae

    gp_minimize(
        objective,
        dims,
        n_calls=n_calls,
        n_initial_points=min(settings.n_initial_points, n_calls),
        random_state=seed_for(seed, "skopt"),
    )
    search = pd.DataFrame(log)
    best = search.loc[search["validation_mae"].idxmin()]
    params = {d.name: (int(best[d.name]) if isinstance(d, Integer) else float(best[d.name])) for d in dims}
    model = regressor(params, int(best["n_estimators"]), threads, seed_for(seed, "xgboost"), None)
    model.fit(x[tr], target[tr], verbose=False)
    metrics = {"params": params, "n_estimators": int(best["n_estimators"])}
    for name, rows in splits.items():
        predicted = model.predict(x[rows])
        metrics[name] = {
            "n": len(rows),
            "r2": float(r2_score(target[rows], predicted)),
            "mae": float(mean_absolute_error(target[rows], predicted)),
        }
    return model, search, metrics


def learn_rw(
    cluster: Cluster,
    catalogue: pd.DataFrame,
    fits: pd.DataFrame,
    *,
    removable: list[str],
    settings: ModelSettings,
    seed: int,
    threads: int,
) -> tuple[xgb.XGBRegressor, pd.DataFrame, dict]:
    """The model of the fits' Rw from the atoms each cut-out keeps (:func:`train_model` on a seeded split).

    Parameters
    ----------
    cluster, catalogue
        The starting structure and its cut-out catalogue.
    fits
        The gathered fits (``cutout``, ``rw``, ...), in any order.
    removable
        The removable elements.
    settings
        Splits, search and boosting settings.
    seed, threads
        The study's seed; xgboost's threads.
    """
    target = fits.set_index("cutout").loc[catalogue["cutout"], "rw"].to_numpy()
    features = cutout_features(cluster, catalogue, removable)
    splits = split_indices(len(features), settings.validation, settings.test, seed)
    return train_model(features, target, splits, settings, seed=seed, threads=threads)


def save_model(model: xgb.XGBRegressor, path: str | os.PathLike[str]) -> None:
    """Write the model as xgboost JSON, atomically (xgboost picks the format from the file name's suffix)."""
    with atomic_path(path) as tmp:
        named = tmp.with_suffix(".json")
        try:
            model.save_model(named)
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)


def explain(
    cluster: Cluster, catalogue: pd.DataFrame, model_path: str | os.PathLike[str], *, removable: list[str], threads: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The features of every cut-out and their SHAP values under the saved model."""
    model = xgb.XGBRegressor()
    model.load_model(model_path)
    model.set_params(n_jobs=threads)
    features = cutout_features(cluster, catalogue, removable)
    return features, shap_values(model, features)


def shap_values(model: xgb.XGBRegressor, features: pd.DataFrame) -> pd.DataFrame:
    """TreeExplainer SHAP values (cut-outs x features) of the model's Rw prediction."""
    values = shap.TreeExplainer(model).shap_values(features.to_numpy(dtype=np.float32))
    return pd.DataFrame(values, columns=features.columns)
