"""Activity of identified nuclides: peak fits of their lines on the background-subtracted spectrum, net areas with
uncertainties, activities through efficiency, emission probability, live time and distance, decay-corrected to
the reference date."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from fingerprintml.gamma.detector import continuum_response, efficiency, fwhm_kev, geometry_factor, sigma_kev

LINE_COLUMNS = ["nuclide", "energy_kev", "net_counts", "net_counts_sd", "activity_bq", "activity_sd_bq", "interfered"]
ELECTRON_MASS_KEV = 510.999


class LineFitter:
    """Fits the activity lines of identified nuclides in 1 keV spectra.

    Each activity line is fitted in its own window E +- half_width * FWHM(E) as Gaussians (centre at the library
    energy, width from the configured resolution broadened by the channel and 1 keV bin widths) of every line of
    the identified nuclides that reaches into the window, on a polynomial background (linear by default), plus the
    Compton continuum (shape from the detector model, free amplitude) of each identified line whose Compton edge or
    backscatter peak falls in the window, where a polynomial cannot follow the background. All of these are linear
    parameters, so the fit is one weighted linear least-squares solve.
    """

    def __init__(
        self,
        lines: pd.DataFrame,
        detector: dict[str, Any],
        cap_kev: int,
        channel_width_kev: float,
        half_width_fwhm: float = 2.0,
        background_degree: int = 1,
    ):
        self.lines = lines[lines["energy_kev"] < cap_kev].reset_index(drop=True)
        self.detector = detector
        self.cap = cap_kev
        self.half_width_fwhm = half_width_fwhm
        self.background_degree = background_degree
        resolution = detector["resolution"]
        energy = self.lines["energy_kev"].to_numpy()
        self.sigma = np.sqrt(sigma_kev(energy, resolution) ** 2 + (channel_width_kev**2 + 1.0) / 12.0)
        self.fwhm = fwhm_kev(energy, resolution)
        self.edges = 2 * energy**2 / ELECTRON_MASS_KEV / (1 + 2 * energy / ELECTRON_MASS_KEV)
        self.backscatter = energy - self.edges
        bins = np.arange(cap_kev + 1, dtype=float)
        self.continua = np.array(
            [continuum_response(e, k, bins, detector) for e, k in zip(energy, self.lines["kind"], strict=True)]
        )
        self.yield_per_bq_s = self.lines["intensity"].to_numpy() * efficiency(energy, detector["efficiency"])

    def fit(
        self, counts: np.ndarray, live_time: float, distance_cm: float, background_rate: np.ndarray, nuclides: list[str]
    ) -> pd.DataFrame:
        """Net area and activity at the measurement time of each activity line of ``nuclides`` in one spectrum
        (1 keV ``counts``); the reference background rate is subtracted first. Poisson weights from the gross
        counts; the polynomial takes up the difference between this spectrum's background and the reference."""
        present = np.flatnonzero(self.lines["nuclide"].isin(nuclides).to_numpy())
        targets = present[self.lines["activity_line"].to_numpy()[present]]
        net = counts - background_rate * live_time
        weight = 1.0 / np.maximum(counts, 1.0)
        energy = self.lines["energy_kev"].to_numpy()
        rows = []
        for target in targets:
            half = self.half_width_fwhm * self.fwhm[target]
            lo = int(max(np.floor(energy[target] - half), 0))
            hi = int(min(np.ceil(energy[target] + half), self.cap))
            peaks = present[np.abs(energy[present] - energy[target]) < half + 2 * self.fwhm[present]]
            features = np.r_[self.edges[present], self.backscatter[present]]
            near = np.abs(features - energy[target]) < half + 2 * np.r_[self.fwhm[present], self.fwhm[present]]
            steps = np.unique(np.r_[present, present][near])
            # Interfered: another identified line within 1.5 FWHM, or a Compton edge or backscatter peak within
            # 1 FWHM: the fit has to split counts it cannot separate well.
            others = present[present != target]
            interfered = bool(
                (np.abs(energy[others] - energy[target]) < 1.5 * self.fwhm[target]).any()
                or (np.abs(features - energy[target]) < self.fwhm[target]).any()
            )
            edges = np.arange(lo, hi + 1, dtype=float)
            centres = 0.5 * (edges[1:] + edges[:-1])
            gaussians = np.diff(ndtr((edges[:, None] - energy[peaks]) / self.sigma[peaks]), axis=0)
            offset = (centres - energy[target]) / half
            design = np.column_stack(
                [gaussians, self.continua[steps, lo:hi].T, *(offset**k for k in range(self.background_degree + 1))]
            )
            covariance = np.linalg.pinv(design.T @ (design * weight[lo:hi, None]))
            params = covariance @ (design.T @ (weight[lo:hi] * net[lo:hi]))
            own = int(np.flatnonzero(peaks == target)[0])
            area, area_sd = params[own], float(np.sqrt(max(covariance[own, own], 0.0)))
            per_bq = (
                live_time
                * self.yield_per_bq_s[target]
                * geometry_factor(distance_cm, self.detector["efficiency"]["reference_distance_cm"])
            )
            rows.append(
                {
                    "nuclide": self.lines["nuclide"][target],
                    "energy_kev": energy[target],
                    "net_counts": area,
                    "net_counts_sd": area_sd,
                    "activity_bq": area / per_bq,
                    "activity_sd_bq": area_sd / per_bq,
                    "interfered": interfered,
                }
            )
        return pd.DataFrame(rows, columns=LINE_COLUMNS)


def decay_correct(table: pd.DataFrame, lines: pd.DataFrame, measured: pd.Series, reference: str) -> pd.DataFrame:
    """Activities of ``table`` corrected from each row's measurement date (``measured``, ISO dates aligned with
    the rows) to the reference date."""
    half_life = lines.drop_duplicates("nuclide").set_index("nuclide")["half_life_days"]
    days = (pd.to_datetime(measured.to_numpy()) - pd.Timestamp(reference)).days.to_numpy()
    factor = np.exp(np.log(2) / table["nuclide"].map(half_life).to_numpy() * days)
    return table.assign(activity_bq=table["activity_bq"] * factor, activity_sd_bq=table["activity_sd_bq"] * factor)


def combine(table: pd.DataFrame) -> pd.DataFrame:
    """Activity per file and nuclide: inverse-variance weighted mean over its lines with a positive net area,
    the interference-free ones only where the nuclide has any (NaN where there is no usable line)."""
    usable = (table["net_counts"] > 0) & (table["activity_sd_bq"] > 0)
    clean = usable & ~table["interfered"].astype(bool)
    has_clean = clean.groupby([table["file"], table["nuclide"]]).transform("any")
    usable = usable & (clean | ~has_clean)
    weight = np.where(usable, 1.0 / np.where(usable, table["activity_sd_bq"], 1.0) ** 2, 0.0)
    sums = (
        table.assign(weight=weight, weighted=weight * np.where(usable, table["activity_bq"], 0.0))
        .groupby(["file", "nuclide"], sort=False)[["weight", "weighted"]]
        .sum()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        combined = pd.DataFrame(
            {"activity_bq": sums["weighted"] / sums["weight"], "activity_sd_bq": 1.0 / np.sqrt(sums["weight"])}
        )
    return combined.where(sums["weight"] > 0).reset_index()
