"""Activities in Bq and ISO 11929 limits in Bq for the peak-based identification, and the detector efficiency
they rest on.

- **Efficiency** (:class:`Efficiency`): the absolute full-energy efficiency at a distance, with its relative
  standard uncertainty, scaled to each spectrum's distance by the solid angle of the detector's disc
  (:func:`detector.geometry_factor`). Either a preset's shape (``gamma.query_detector``; with ``auto`` the preset of
  the spectrum's kind, ``AUTO_EFFICIENCY``), whose shape uncertainty is the identifier's ``efficiency_sd`` growing
  as (``efficiency_low_kev`` / E)² below that energy; or a curve fitted to a calibration spectrum of known sources
  (:func:`fit_efficiency`, ``gamma.efficiency_calibration``): ln ε = Σ c_k ln(E / E₀)^k, weighted least squares over
  the sources' matched peaks, its uncertainty from the fit's covariance (scaled up by the reduced χ² where the
  points scatter more than their uncertainties say).
- **Activity** of a reported nuclide: A_g = n_g w_g per line group with w = 1 / (ε I t_live), combined over its
  groups with a found peak (those shared with another reported nuclide only where it has no other) with weights
  1 / u², u² = w² (u²(n) + (n u(I) / I)²) (counting and emission intensity, independent per group); the efficiency
  uncertainty is common to the groups (one curve), so the weighted mean of its relative values is added to the
  combined result in quadrature.
- **Limits** (ISO 11929-1:2019, section 6 and Annex A) of every scored nuclide at its most detectable group
  (the counts limits of :func:`peaks.region_limits`): a* = w y*, and the detection limit a# solves
  a# = a* + k_{1-β} ũ(a#), ũ²(a) = w² (u²(0) + a / (w s)) + a² u_rel²(w) (the Poisson variance of the net counts
  a / w grows with them; s is the region's Gaussian share, recovered from the counts limits), by fixed-point
  iteration; it does not exist (inf) when k_{1-β} u_rel(w) >= 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.gamma.detector import DetectorPreset, efficiency, geometry_factor
from fingerprintml.gamma.identify import (
    DetectorResponse,
    Identification,
    Identifier,
    IdentifySettings,
    detector_kind,
    identify_spectra,
    query_channels,
)
from fingerprintml.gamma.library import decay_factors
from fingerprintml.gamma.peaks import PeakSettings
from fingerprintml.gamma.spectrum import Spectrum

# The preset whose efficiency shape an 'auto' query detector uses, by the kind its resolution says.
AUTO_EFFICIENCY = {"semiconductor": "hpge", "scintillator": "nai"}
ACTIVITY_COLUMNS = [
    "file",
    "nuclide",
    "reported",
    "activity_bq",
    "activity_bq_sd",
    "decision_threshold_bq",
    "detection_limit_bq",
    "line_kev",
    "efficiency",
    "lines_used",
    "efficiency_source",
]
CALIBRATION_COLUMNS = [
    "nuclide",
    "energy_kev",
    "net_counts",
    "net_counts_sd",
    "activity_bq",
    "efficiency",
    "efficiency_sd",
    "fitted",
    "residual",
    "residual_sigma",
]
SOURCE_COLUMNS = ["nuclide", "activity_bq", "reference_date"]


def iso11929_limits_bq(
    threshold_counts: float,
    limit_counts: float,
    w: float,
    w_relative_sd: float,
    k_alpha: float,
    k_beta: float,
    tolerance: float = 1e-10,
) -> tuple[float, float]:
    """ISO 11929 decision threshold and detection limit of an activity a = w y from those of the net counts y.

    Parameters
    ----------
    threshold_counts, limit_counts
        y* = k_{1-α} u(0) and y# of the net counts (:func:`peaks.region_limits`, full-peak counts).
    w
        Calibration factor (Bq per net count): 1 / (efficiency × intensity × live time).
    w_relative_sd
        Relative standard uncertainty of ``w`` (efficiency, intensity).
    k_alpha, k_beta
        The quantiles of the decision threshold and the detection limit.
    tolerance
        Relative change of a# at which the iteration stops.

    Returns
    -------
    (a*, a#) in Bq; a# is inf when it does not exist (k_{1-β} u_rel(w) >= 1); both NaN where ``w`` is not finite.
    """
    null_sd = threshold_counts / k_alpha
    # y# = y* + k_β sqrt(c y# + u²(0)): c (1 / the region's Gaussian share) makes the counts limit exact.
    poisson = max(((limit_counts - threshold_counts) ** 2 / k_beta**2 - null_sd**2) / limit_counts, 0.0)
    threshold = w * threshold_counts
    if not np.isfinite(w):
        return np.nan, np.nan
    if k_beta * w_relative_sd >= 1:
        return threshold, np.inf
    limit = w * limit_counts
    for _ in range(200):
        previous = limit
        limit = threshold + k_beta * np.sqrt(w**2 * (null_sd**2 + poisson * limit / w) + (limit * w_relative_sd) ** 2)
        if abs(limit - previous) <= tolerance * limit:
            break
    return float(threshold), float(limit)


@dataclass(frozen=True)
class LogPolynomial:
    """ln ε(E) = Σ ``coefficients``[k] ln(E / ``reference_kev``)^k with the coefficients' ``covariance``."""

    coefficients: np.ndarray
    covariance: np.ndarray
    reference_kev: float

    def _powers(self, energy: np.ndarray | float) -> np.ndarray:
        x = np.log(np.asarray(energy, dtype=float) / self.reference_kev)
        return np.stack([x**k for k in range(len(self.coefficients))], axis=-1)

    def __call__(self, energy: np.ndarray | float) -> np.ndarray:
        """Efficiency at ``energy`` (keV)."""
        return np.exp(self._powers(energy) @ self.coefficients)

    def relative_sd(self, energy: np.ndarray | float) -> np.ndarray:
        """Relative standard uncertainty of the efficiency at ``energy`` (keV) from the coefficients' covariance."""
        powers = self._powers(energy)
        return np.sqrt(np.einsum("...i,ij,...j->...", powers, self.covariance, powers))


@dataclass(frozen=True)
class Efficiency:
    """Absolute full-energy efficiency of a detector: ``curve`` (keV → efficiency at ``distance_cm``), its relative
    standard uncertainty ``relative_sd`` (keV → share), the ``geometry`` (a detector block's ``efficiency``
    parameters: ``reference_distance_cm`` and ``radius_cm``) that scales it to other distances, and ``name``
    (where it comes from)."""

    curve: Callable[[np.ndarray], np.ndarray]
    relative_sd: Callable[[np.ndarray], np.ndarray]
    distance_cm: float
    geometry: Mapping[str, float]
    name: str

    @classmethod
    def of_detector(cls, detector: DetectorPreset, shape_sd: float, low_kev: float) -> Efficiency:
        """A preset's efficiency shape at its reference distance, with relative uncertainty ``shape_sd`` growing as
        (``low_kev`` / E)² below ``low_kev``."""
        params = detector.block["efficiency"]

        def curve(energy: np.ndarray) -> np.ndarray:
            return efficiency(energy, params)

        def relative_sd(energy: np.ndarray) -> np.ndarray:
            return shape_sd * np.maximum(1.0, (low_kev / np.asarray(energy, dtype=float)) ** 2)

        return cls(curve, relative_sd, params["reference_distance_cm"], params, f"{detector.name} preset")

    def at(self, energy: np.ndarray | float, distance_cm: float) -> np.ndarray:
        """Efficiency at ``energy`` (keV) for a source at ``distance_cm``."""
        scale = geometry_factor(distance_cm, self.geometry) / geometry_factor(self.distance_cm, self.geometry)
        return self.curve(energy) * scale


@dataclass(frozen=True)
class EfficiencyCalibration:
    """``gamma.efficiency_calibration`` without its spectrum file: the ``sources`` in it (``nuclide``,
    ``activity_bq`` at ``reference_date``, optional ``activity_bq_sd``), the ``degree`` of the log-log polynomial,
    ``min_energy_kev`` (lines below are left out: X-rays under the entrance window's cut-off, which a log-log
    polynomial does not follow), the ``measurement_date`` where the file has no start time, and ``distance_cm`` of
    the sources (None: the file's, or the reader's default)."""

    sources: pd.DataFrame
    degree: int = 3
    min_energy_kev: float = 50.0
    measurement_date: str | None = None
    distance_cm: float | None = None

    @classmethod
    def from_config(cls, block: Mapping[str, Any]) -> EfficiencyCalibration:
        """The calibration of a ``gamma.efficiency_calibration`` block (its ``spectrum`` is read by the caller)."""
        sources = pd.DataFrame(list(block["sources"]))
        missing = sorted(set(SOURCE_COLUMNS) - set(sources.columns))
        if missing:
            raise ValueError(f"config.yaml: gamma.efficiency_calibration.sources lack {missing}")
        if sources["nuclide"].duplicated().any():
            raise ValueError("config.yaml: gamma.efficiency_calibration.sources name a nuclide twice")
        if "activity_bq_sd" not in sources:
            sources["activity_bq_sd"] = 0.0
        return cls(
            sources.fillna({"activity_bq_sd": 0.0}),
            int(block.get("degree", 3)),
            float(block.get("min_energy_kev", 50.0)),
            block.get("measurement_date"),
            block.get("distance_cm"),
        )


def _preset(detector: str | Mapping[str, Any], kind: str) -> DetectorPreset:
    if detector == "auto":
        return DetectorPreset.from_config(AUTO_EFFICIENCY[kind])
    return DetectorPreset.from_config(detector, "gamma.query_detector")


def fit_efficiency(
    spectrum: Spectrum,
    calibration: EfficiencyCalibration,
    library: pd.DataFrame,
    settings: IdentifySettings,
    detector: str | Mapping[str, Any] = "auto",
) -> tuple[Efficiency, pd.DataFrame]:
    """The efficiency curve of a calibration ``spectrum`` of known sources and its points with residuals.

    The sources' lines are matched to the spectrum's peaks by the identifier (library restricted to them); every
    group matched to a peak that no other source shares gives ε = n / (A I t_live), A decayed from the reference
    date to the measurement; ln ε is fitted by a polynomial of ``calibration.degree`` in ln(E / E₀) (E₀ the
    weighted geometric mean energy), weights 1 / u_rel²(ε) (counting, intensity, activity). Bad input (a nuclide
    not in the library, no date, a live time or distance that is not positive, fewer matched lines than
    coefficients) is an error naming the spectrum.

    Parameters
    ----------
    spectrum
        The calibration spectrum.
    calibration
        Its sources and fit settings (:class:`EfficiencyCalibration`).
    library
        The nuclide library (``identify.library``).
    settings
        The identification settings (match windows, peak search).
    detector
        ``gamma.query_detector``: its resolution law for the matching (auto: fitted to the spectrum's peaks) and the
        geometry that scales the curve to other distances.

    Returns
    -------
    The :class:`Efficiency` (at the calibration's distance) and a table (``CALIBRATION_COLUMNS``) of the points: the
    measured efficiency, its standard uncertainty, the fitted curve and the residual (relative, and in standard
    uncertainties).
    """
    name, sources = spectrum.name, calibration.sources.set_index("nuclide")
    unknown = sorted(set(sources.index) - set(library["nuclide"]))
    if unknown:
        raise ValueError(f"{name}: calibration sources {unknown} are not in the nuclide library")
    date = spectrum.start_time or calibration.measurement_date
    if date is None:
        raise ValueError(f"{name}: no start time in the file; give gamma.efficiency_calibration.measurement_date")
    distance = calibration.distance_cm if calibration.distance_cm is not None else spectrum.distance_cm
    if not (spectrum.live_time > 0 and np.isfinite(distance) and distance > 0):
        raise ValueError(f"{name}: live time {spectrum.live_time} s and distance {distance} cm must be positive")
    decay = decay_factors(
        library, sources.index.to_numpy(), sources["reference_date"].to_numpy(), pd.Timestamp(date).tz_localize(None)
    )
    activity = pd.Series(sources["activity_bq"].to_numpy(dtype=float) * decay, index=sources.index)
    activity_rel_sd = (sources["activity_bq_sd"] / sources["activity_bq"]).astype(float)
    response = DetectorResponse() if detector == "auto" else DetectorResponse(fwhm=_preset(detector, "").fwhm)
    _, channels, _ = query_channels([spectrum])[0]
    identifier = Identifier(library[library["nuclide"].isin(sources.index)], settings)
    result = identifier.identify(channels, response)
    lines = result.lines[(result.lines["peak"] >= 0) & (result.lines["net"] > 0)]
    lines = lines[lines.groupby("peak")["nuclide"].transform("nunique") == 1]
    lines = lines[lines["energy_kev"] >= calibration.min_energy_kev]
    if len(lines) < calibration.degree + 1:
        raise ValueError(
            f"{name}: {len(lines)} lines of the calibration sources above {calibration.min_energy_kev} keV match a "
            f"peak of their own; a polynomial of "
            f"degree {calibration.degree} needs {calibration.degree + 1}"
        )
    nuclides = lines["nuclide"].to_numpy()
    energy, net, net_sd = (lines[c].to_numpy(dtype=float) for c in ("energy_kev", "net", "sd"))
    intensity, intensity_sd = lines["intensity"].to_numpy(dtype=float), lines["intensity_sd"].to_numpy(dtype=float)
    measured = net / (activity.loc[nuclides].to_numpy() * intensity * spectrum.live_time)
    relative_sd = np.sqrt(
        (net_sd / net) ** 2 + (intensity_sd / intensity) ** 2 + activity_rel_sd.loc[nuclides].to_numpy() ** 2
    )
    weight = 1.0 / relative_sd**2
    reference = float(np.exp(np.sum(weight * np.log(energy)) / weight.sum()))
    x = np.log(energy / reference)
    design = np.column_stack([x**k for k in range(calibration.degree + 1)])
    covariance = np.linalg.inv(design.T @ (design * weight[:, None]))
    coefficients = covariance @ (design.T @ (weight * np.log(measured)))
    residual = np.log(measured) - design @ coefficients
    dof = len(energy) - len(coefficients)
    if dof > 0:
        covariance = covariance * max(float(np.sum(weight * residual**2)) / dof, 1.0)
    curve = LogPolynomial(coefficients, covariance, reference)
    geometry = _preset(detector, detector_kind(result.fwhm))
    fitted = curve(energy)
    points = pd.DataFrame(
        {
            "nuclide": nuclides,
            "energy_kev": energy,
            "net_counts": net,
            "net_counts_sd": net_sd,
            "activity_bq": activity.loc[nuclides].to_numpy(),
            "efficiency": measured,
            "efficiency_sd": measured * relative_sd,
            "fitted": fitted,
            "residual": measured / fitted - 1,
            "residual_sigma": residual / relative_sd,
        },
        columns=CALIBRATION_COLUMNS,
    ).sort_values("energy_kev", ignore_index=True)
    low, high = float(energy.min()), float(energy.max())

    def curve_relative_sd(energy: np.ndarray) -> np.ndarray:
        # Outside the calibrated energies the polynomial is an extrapolation: known to a factor at best.
        inside = (np.asarray(energy) >= low) & (np.asarray(energy) <= high)
        return np.where(inside, curve.relative_sd(energy), np.maximum(curve.relative_sd(energy), 1.0))

    efficiency_curve = Efficiency(
        curve, curve_relative_sd, float(distance), geometry.block["efficiency"], f"calibration {name}"
    )
    return efficiency_curve, points


def activity_table(
    spectrum: Spectrum, result: Identification, efficiency_curve: Efficiency, peaks: PeakSettings
) -> pd.DataFrame:
    """Per scored nuclide of ``result``: the activity (Bq at the measurement) of a reported one with its standard
    uncertainty, and for every nuclide the ISO 11929 decision threshold and detection limit (Bq) at its most
    detectable line, at the spectrum's live time and distance (``ACTIVITY_COLUMNS``; NaN where the spectrum has no
    positive distance, as a background measurement).

    Parameters
    ----------
    spectrum
        The spectrum (live time, distance, name).
    result
        Its :class:`Identification` (``lines``: each nuclide's groups with net counts and counts limits).
    efficiency_curve
        The detector's :class:`Efficiency`.
    peaks
        The peak settings (``k_alpha``, ``k_beta``).
    """
    if not spectrum.live_time > 0:
        raise ValueError(f"{spectrum.name}: live time {spectrum.live_time} s is not positive: no activity")
    placed = np.isfinite(spectrum.distance_cm) and spectrum.distance_cm > 0
    reported = set(result.reported)
    shared = result.peaks["nuclides"].str.contains("+", regex=False).to_numpy() if len(result.peaks) else []
    rows = []
    for nuclide, lines in result.lines.groupby("nuclide", sort=True):
        energy = lines["energy_kev"].to_numpy(dtype=float)
        intensity, intensity_sd = (lines[c].to_numpy(dtype=float) for c in ("intensity", "intensity_sd"))
        eff = efficiency_curve.at(energy, spectrum.distance_cm) if placed else np.full(len(energy), np.nan)
        eff_sd = efficiency_curve.relative_sd(energy)
        w = 1.0 / (eff * intensity * spectrum.live_time)
        w_rel_sd = np.sqrt((intensity_sd / intensity) ** 2 + eff_sd**2)
        strongest = int(np.flatnonzero(lines["strongest"].to_numpy(dtype=bool))[0])
        threshold, limit = iso11929_limits_bq(
            float(lines["decision_threshold"].iloc[strongest]),
            float(lines["detection_limit"].iloc[strongest]),
            float(w[strongest]),
            float(w_rel_sd[strongest]),
            peaks.k_alpha,
            peaks.k_beta,
        )
        row = {
            "file": spectrum.name,
            "nuclide": nuclide,
            "reported": nuclide in reported,
            "activity_bq": np.nan,
            "activity_bq_sd": np.nan,
            "decision_threshold_bq": threshold,
            "detection_limit_bq": limit,
            "line_kev": energy[strongest],
            "efficiency": eff[strongest],
            "lines_used": 0,
            "efficiency_source": efficiency_curve.name,
        }
        if nuclide in reported:
            row.update(_combined(lines, w, eff, eff_sd, shared))
        rows.append(row)
    return pd.DataFrame(rows, columns=ACTIVITY_COLUMNS)


def _combined(
    lines: pd.DataFrame, w: np.ndarray, eff: np.ndarray, eff_sd: np.ndarray, shared: np.ndarray
) -> dict[str, Any]:
    """Activity of a reported nuclide from its groups with a found peak and positive net counts, the peaks no
    other reported nuclide shares where it has any (else those with positive net counts in their region), each
    weighted by 1 / (counting and intensity variance + its efficiency variance); the counting and intensity parts
    are propagated as independent, the efficiency part as common to the groups."""
    peak, net, sd = (lines[c].to_numpy() for c in ("peak", "net", "sd"))
    intensity, intensity_sd = (lines[c].to_numpy(dtype=float) for c in ("intensity", "intensity_sd"))
    found = (peak >= 0) & (net > 0)
    own = found & ~np.array([bool(shared[p]) if p >= 0 else False for p in peak], dtype=bool)
    use = own if own.any() else found if found.any() else net > 0
    if not use.any() or not np.isfinite(w[use]).all():
        return {}
    activity = net[use] * w[use]
    variance = w[use] ** 2 * (sd[use] ** 2 + (net[use] * intensity_sd[use] / intensity[use]) ** 2)
    weight = 1.0 / (variance + (activity * eff_sd[use]) ** 2)
    weight = weight / weight.sum()
    mean = float(np.sum(weight * activity))
    common = float(np.sum(weight * eff_sd[use]))
    best = int(np.flatnonzero(use)[np.argmax(weight)])
    return {
        "activity_bq": mean,
        "activity_bq_sd": float(np.sqrt(np.sum(weight**2 * variance) + (mean * common) ** 2)),
        "line_kev": float(lines["energy_kev"].iloc[best]),
        "efficiency": float(eff[best]),
        "lines_used": int(use.sum()),
    }


def identify_with_activities(
    spectra: list[Spectrum],
    library: pd.DataFrame,
    settings: IdentifySettings,
    detector: str | Mapping[str, Any] = "auto",
    efficiency_curve: Efficiency | None = None,
) -> dict[str, pd.DataFrame]:
    """Peak-based identification (:func:`identify.identify_spectra`) with each spectrum's activity table
    (:func:`activity_table`).

    Parameters
    ----------
    spectra, library, settings, detector
        As for :func:`identify.identify_spectra`.
    efficiency_curve
        The efficiency of the detector (from :func:`fit_efficiency`); None: the preset's shape
        (``detector``, or with 'auto' the preset of each spectrum's kind, ``AUTO_EFFICIENCY``), uncertain by
        ``settings.efficiency_sd``.

    Returns
    -------
    The tables ``identification``, ``peaks``, ``limits`` (of :func:`identify.identify_spectra`) and ``activities``.
    """
    activities = []

    def quantify(spectrum: Spectrum, result: Identification, kind: str) -> None:
        curve = efficiency_curve or Efficiency.of_detector(
            _preset(detector, kind), settings.efficiency_sd, settings.efficiency_low_kev
        )
        activities.append(activity_table(spectrum, result, curve, settings.peaks))

    identification, peaks, limits = identify_spectra(spectra, library, settings, detector, each=quantify)
    return {
        "identification": identification,
        "peaks": peaks,
        "limits": limits,
        "activities": pd.concat(activities, ignore_index=True)
        if activities
        else pd.DataFrame(columns=ACTIVITY_COLUMNS),
    }


def identify_user(
    spectra: list[Spectrum],
    library: pd.DataFrame,
    settings: IdentifySettings,
    detector: str | Mapping[str, Any] = "auto",
    calibration: tuple[Spectrum, EfficiencyCalibration] | None = None,
) -> dict[str, pd.DataFrame]:
    """The peak-based identification and activities of the user's spectra (rule ``gamma_identify_user``), with the
    efficiency fitted to a calibration spectrum where one is given (``gamma.efficiency_calibration``).

    Parameters
    ----------
    spectra, library, settings, detector
        As for :func:`identify_with_activities` (``detector``: ``gamma.query_detector``).
    calibration
        The calibration spectrum and its sources (:func:`fit_efficiency`); None: the preset's efficiency.

    Returns
    -------
    The tables of :func:`identify_with_activities` and ``efficiency`` (the calibration's points and residuals,
    ``CALIBRATION_COLUMNS``; no rows without a calibration).
    """
    curve, points = None, pd.DataFrame(columns=CALIBRATION_COLUMNS)
    if calibration is not None:
        curve, points = fit_efficiency(*calibration, library, settings, detector)
    return {**identify_with_activities(spectra, library, settings, detector, curve), "efficiency": points}
