"""Activity of identified nuclides: peak fits of their lines on the background-subtracted spectrum, net areas with
uncertainties, activities through efficiency, emission probability, live time and distance, decay-corrected to
the reference date."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from fingerprintml.gamma.detector import continuum_response, efficiency, fwhm_kev, geometry_factor, sigma_kev
from fingerprintml.gamma.library import decay_factors
from fingerprintml.gamma.preprocess import rebin_matrix

LINE_COLUMNS = ["nuclide", "energy_kev", "net_counts", "net_counts_sd", "activity_bq", "activity_sd_bq", "interfered"]
ELECTRON_MASS_KEV = 510.999


class LineFitter:
    """Fits the lines of identified nuclides in 1 keV spectra with the detector's own response to each line.

    The response of a line is what the detector model implies per full-energy count: the full-energy Gaussian
    plus its Compton continuum, edge and backscatter peak, computed on the spectrum's channels and rebinned to
    1 keV exactly as the preprocessing rebins the spectrum. Lines are fitted in descending energy, each in a
    window E +- half_width * FWHM(E): every identified line whose peak reaches into the window is a free amplitude
    of its whole response (so overlapping lines are fitted jointly and each continuum is tied to its own peak),
    the continua of the higher lines already fitted are subtracted with their fitted areas, and a polynomial
    (linear by default) takes up the difference between this spectrum's background and the reference. The fit
    is weighted least squares with Poisson weights from the fitted model (iterated), which avoids the low bias of
    weights from the observed counts. ``calibration`` (E = c0 * channel + c1, keV) is that of the spectra; a
    spectrum with another one is fitted with these templates, which then differ only by the channel-width blur.
    """

    def __init__(
        self,
        lines: pd.DataFrame,
        detector: dict[str, Any],
        cap_kev: int,
        calibration: tuple[float, float],
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
        self.sigma = sigma_kev(energy, resolution)
        self.fwhm = fwhm_kev(energy, resolution)
        self.edges = 2 * energy**2 / ELECTRON_MASS_KEV / (1 + 2 * energy / ELECTRON_MASS_KEV)
        self.backscatter = energy - self.edges
        c0, c1 = calibration
        n_channels = int(np.ceil((cap_kev - c1) / c0))
        channel_edges = c0 * np.arange(n_channels + 1) + c1
        to_kev = rebin_matrix(n_channels, (c0, c1), cap_kev).T
        peaks = np.diff(ndtr((channel_edges[None, :] - energy[:, None]) / self.sigma[:, None]), axis=1)
        continua = np.array(
            [continuum_response(e, k, channel_edges, detector) for e, k in zip(energy, self.lines["kind"], strict=True)]
        )
        self.peaks = np.asarray((to_kev @ peaks.T).T)
        self.continua = np.asarray((to_kev @ continua.T).T)
        self.yield_per_bq_s = self.lines["intensity"].to_numpy() * efficiency(energy, detector["efficiency"])

    def fit(
        self, counts: np.ndarray, live_time: float, distance_cm: float, background_rate: np.ndarray, nuclides: list[str]
    ) -> pd.DataFrame:
        """Net area and activity at the measurement time of each activity line of ``nuclides`` in one spectrum
        (1 keV ``counts``); the reference background rate (counts/s per 1 keV bin) is subtracted first. A live time
        or distance that is not positive and finite is an error: no activity follows from it."""
        if not (np.isfinite(live_time) and live_time > 0 and np.isfinite(distance_cm) and distance_cm > 0):
            raise ValueError(f"live time {live_time} s and distance {distance_cm} cm must be positive and finite")
        energy = self.lines["energy_kev"].to_numpy()
        present = np.flatnonzero(self.lines["nuclide"].isin(nuclides).to_numpy())
        present = present[np.argsort(-energy[present], kind="stable")]
        background = background_rate * live_time
        net = counts - background
        area, area_var = {}, {}
        for target in present:
            half = self.half_width_fwhm * self.fwhm[target]
            lo = int(max(np.floor(energy[target] - half), 0))
            hi = int(min(np.ceil(energy[target] + half), self.cap))
            reach = np.abs(energy[present] - energy[target]) < half + 3 * self.sigma[present]
            free = present[reach]
            fixed = [j for j in present[~reach] if j in area and self.continua[j, lo:hi].any()]
            known = sum((area[j] * self.continua[j, lo:hi] for j in fixed), np.zeros(hi - lo))
            offset = (np.arange(lo, hi) + 0.5 - energy[target]) / half
            design = np.column_stack(
                [
                    (self.peaks[free] + self.continua[free])[:, lo:hi].T,
                    *(offset**k for k in range(self.background_degree + 1)),
                ]
            )
            observed = net[lo:hi] - known
            expected = counts[lo:hi]
            for _ in range(3):
                weight = 1.0 / np.maximum(expected, 1.0)
                covariance = np.linalg.pinv(design.T @ (design * weight[:, None]))
                gain = covariance @ (design.T * weight)
                params = gain @ observed
                expected = background[lo:hi] + known + design @ params
            own = int(np.flatnonzero(free == target)[0])
            propagated = sum(float(gain[own] @ self.continua[j, lo:hi]) ** 2 * area_var[j] for j in fixed)
            area[target] = float(params[own])
            area_var[target] = max(float(covariance[own, own]), 0.0) + propagated
        features = np.r_[self.edges[present], self.backscatter[present]]
        rows = []
        for target in np.sort(present[self.lines["activity_line"].to_numpy()[present]]):
            # Interfered: another identified line within 1.5 FWHM, or a Compton edge or backscatter peak within
            # 1 FWHM: the fit has to split counts it cannot separate well.
            others = present[present != target]
            interfered = bool(
                (np.abs(energy[others] - energy[target]) < 1.5 * self.fwhm[target]).any()
                or (np.abs(features - energy[target]) < self.fwhm[target]).any()
            )
            per_bq = live_time * self.yield_per_bq_s[target] * geometry_factor(distance_cm, self.detector["efficiency"])
            area_sd = float(np.sqrt(area_var[target]))
            rows.append(
                {
                    "nuclide": self.lines["nuclide"][target],
                    "energy_kev": energy[target],
                    "net_counts": area[target],
                    "net_counts_sd": area_sd,
                    "activity_bq": area[target] / per_bq,
                    "activity_sd_bq": area_sd / per_bq,
                    "interfered": interfered,
                }
            )
        return pd.DataFrame(rows, columns=LINE_COLUMNS)


def decay_correct(table: pd.DataFrame, lines: pd.DataFrame, measured: pd.Series, reference: str) -> pd.DataFrame:
    """Activities of ``table`` corrected from each row's measurement date (``measured``, ISO dates aligned with
    the rows) to the reference date."""
    factor = decay_factors(lines, table["nuclide"].to_numpy(), measured.to_numpy(), reference)
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
