"""Preprocessing: calibrated channels rebinned to 1 keV bins up to a cap, count rates, optional Savitzky-Golay
smoothing and background subtraction; every step works on all spectra at once (no per-channel Python loops)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from fingerprintml.gamma.library import labels_from_name
from fingerprintml.gamma.spectrum import Spectrum, channel_edges
from fingerprintml.io import read_table_with, write_arrays


@dataclass(frozen=True)
class PreprocessSettings:
    """How spectra are read and rebinned (``gamma.preprocess``): 1 keV bins up to ``cap_kev``, what to do with a
    zero or broken calibration (``skip`` or ``default``: read with ``default_calibration``), the source distance of
    formats that record none, and the Savitzky-Golay smoothing of the rates (``smoothing_window`` None: none)."""

    cap_kev: int
    calibration_policy: str = "skip"
    default_calibration: tuple[float, float] = (1.31787, 0.12514)
    default_distance_cm: float = 10.0
    smoothing_window: int | None = None
    smoothing_polyorder: int = 2

    @classmethod
    def from_config(cls, preprocess: Mapping[str, Any]) -> PreprocessSettings:
        """From the ``gamma.preprocess`` section."""
        return cls(
            cap_kev=int(preprocess["cap_kev"]),
            calibration_policy=preprocess["calibration_policy"],
            default_calibration=tuple(preprocess["default_calibration"]),
            default_distance_cm=float(preprocess["default_distance_cm"]),
            smoothing_window=preprocess["smoothing"]["window"],
            smoothing_polyorder=int(preprocess["smoothing"]["polyorder"]),
        )


@dataclass
class Binned:
    """Spectra rebinned to 1 keV bins [0, cap): counts (float, channel counts shared out by overlap), live and
    real time (s), distance (cm), file name and measurement date (ISO text, '' when unknown)."""

    counts: np.ndarray
    live_time: np.ndarray
    real_time: np.ndarray
    distance_cm: np.ndarray
    files: np.ndarray
    dates: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        """Count rate (counts/s) per 1 keV bin."""
        return self.counts / self.live_time[:, None]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` file atomically (compressed)."""
        write_arrays(path, compressed=True, **self.__dict__)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Binned:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{key: data[key] for key in data.files})


def rebin_matrix(
    n_channels: int, calibration: tuple[float, float], cap_kev: int, higher_order: tuple[float, ...] = ()
) -> sparse.csr_matrix:
    """Sparse (n_channels, cap_kev) matrix sharing each channel's counts among the 1 keV bins it overlaps, in
    proportion to the overlap (counts spread uniformly within a channel); energy above the cap is dropped. The
    channel edges are those of the calibration (``calibration`` and ``higher_order`` as in :class:`Spectrum`)."""
    edges = channel_edges(n_channels, calibration, higher_order)
    low, high = edges[:-1], edges[1:]
    first = np.clip(np.floor(low).astype(int), 0, cap_kev)
    last = np.clip(np.ceil(high).astype(int), 0, cap_kev)
    span = int((last - first).max(initial=0))
    rows = np.repeat(np.arange(n_channels), span)
    cols = (first[:, None] + np.arange(span)[None, :]).ravel()
    overlap = np.minimum(high[rows], cols + 1.0) - np.maximum(low[rows], cols)
    keep = (cols < cap_kev) & (overlap > 0)
    weights = overlap[keep] / (high - low)[rows[keep]]
    return sparse.csr_matrix((weights, (rows[keep], cols[keep])), shape=(n_channels, cap_kev))


def rebin(spectra: list[Spectrum], cap_kev: int, dates: dict[str, str] | None = None) -> Binned:
    """Rebin ``spectra`` to 1 keV bins up to ``cap_kev`` by their channel edges: one sparse product per distinct
    calibration (linear or polynomial)."""
    counts = np.zeros((len(spectra), cap_kev))
    groups: dict[tuple[int, tuple[float, ...]], list[int]] = {}
    for index, spectrum in enumerate(spectra):
        groups.setdefault((len(spectrum.counts), spectrum.polynomial), []).append(index)
    for (n_channels, (c1, c0, *higher_order)), members in groups.items():
        stacked = np.stack([spectra[i].counts for i in members]).astype(float)
        matrix = rebin_matrix(n_channels, (c0, c1), cap_kev, tuple(higher_order))
        counts[members] = (sparse.csr_matrix(stacked) @ matrix).toarray()
    dates = dates or {}
    return Binned(
        counts=counts,
        live_time=np.array([s.live_time for s in spectra], dtype=float),
        real_time=np.array([s.real_time for s in spectra], dtype=float),
        distance_cm=np.array([s.distance_cm for s in spectra], dtype=float),
        files=np.array([s.name for s in spectra], dtype=str),
        dates=np.array(
            [s.start_time.date().isoformat() if s.start_time else dates.get(s.name, "") for s in spectra], dtype=str
        ),
    )


def smooth(rates: np.ndarray, window: int | None, polyorder: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing along energy when ``window`` is set (odd, > polyorder); else ``rates`` as they are."""
    if not window:
        return rates
    from scipy.signal import savgol_filter  # scipy.signal takes seconds to import; only smoothing needs it

    return savgol_filter(rates, window, polyorder, axis=-1)


def measurement_dates(folder: str | os.PathLike[str]) -> dict[str, str]:
    """``{file name: ISO date}`` from ``measurement_dates.csv`` in ``folder`` if it is there, else empty."""
    path = Path(folder) / "measurement_dates.csv"
    if not path.is_file():
        return {}
    table = read_table_with(path, ["file", "measurement_date"])
    return dict(zip(table["file"], table["measurement_date"].astype(str), strict=True))


def label_table(binned: Binned, nuclides: list[str], is_background: np.ndarray) -> pd.DataFrame:
    """File, has_source and a 0/1 column per nuclide: from the file names; background spectra are all zero."""
    labels = np.array([labels_from_name(name, nuclides) for name in binned.files]).reshape(len(binned.files), -1)
    labels[is_background] = 0
    table = pd.DataFrame(labels, columns=nuclides)
    table.insert(0, "has_source", (labels.sum(axis=1) > 0).astype(int))
    table.insert(0, "file", binned.files)
    return table
