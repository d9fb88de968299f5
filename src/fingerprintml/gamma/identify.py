"""Peak-based nuclide identification: the peaks of a spectrum matched to the nuclide library.

1. The resolution law FWHM(E) is the detector's (:class:`DetectorResponse`) or, by default, fitted to the spectrum's
   own strong peaks (:func:`peaks.estimate_resolution`, starting from a semiconductor or scintillator guess).
2. Peaks are searched and fitted (:func:`peaks.search`).
3. Each library nuclide's lines in the spectrum's range are merged into groups closer than half an FWHM; a group is
   matched to the nearest found peak within ``match_fwhm`` FWHM (widened by the calibration uncertainty and the
   line's energy uncertainty); an unmatched group is measured at its library energy (ISO 11929 region, net counts
   possibly negative).
4. A nuclide's amplitude A (counts per unit of intensity × relative efficiency) is fitted to the groups' net counts
   n_g ≈ A·I_g·ε(E_g) (:func:`fit_amplitude`): its significance is the counting-noise matched filter over the groups,
   its consistency the χ² probability of the deficits (strong lines expected but missing make it small), each
   group's variance widened by ``efficiency_sd``·A·I_g·ε(E_g) (the efficiency shape is not known exactly).
5. Nuclides are accepted greedily, the one that explains the most peak significance (Σ (min(n, A·y)/u)² over its
   found peaks) less the χ² of their energies first (of two nuclides explaining the same peaks, the one whose
   lines lie closer): one is reported when its significance reaches ``min_significance``, its most detectable
   group (of those with a well known efficiency) is a found peak or above its ISO 11929 decision threshold, and
   the χ² probability is at least ``min_consistency``; the counts it explains are taken from the peaks before
   the others are scored again.
6. The energy scale is corrected from the found peaks matched to one nuclide's strong lines
   (:func:`autocalibrate.refine_calibration`: at least ``calibration_min_peaks`` peaks spanning a factor two in
   energy, a bounded correction, or a free gain only where the file's scale matches nothing) and the spectrum is
   identified again on the corrected scale.
7. Peaks that the reported nuclides leave unexplained (residual net counts above their decision threshold and
   ``search_sigma`` standard uncertainties) are listed: an unknown source is never forced into a known one.
7. **Background or source.** The natural nuclides and the decay series (K-40, U/Th chains, ``natural`` or with a
   ``series`` in the library) are in every laboratory's background. One of them reported is a source only when its
   found lines stand above the background: the sum of their net counts in the spectrum less its background
   (``reference``) exceeds the ISO 11929 decision threshold of that sum; otherwise, and when no background is known,
   it is listed as background. A background measurement is its own reference (nothing of it is a source).

Detection limits: for every library nuclide's most detectable line, the ISO 11929 decision threshold and detection
limit of its net counts (:func:`peaks.region_limits`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr
from scipy.stats import chi2

from fingerprintml.gamma.autocalibrate import CalibrationFit, refine_calibration
from fingerprintml.gamma.detector import DetectorPreset
from fingerprintml.gamma.peaks import (
    FWHM_PER_SIGMA,
    Channels,
    PeakSettings,
    channels_of,
    estimate_resolution,
    region_limits,
    search,
    with_continuum,
)
from fingerprintml.gamma.spectrum import Spectrum

Law = Callable[[np.ndarray], np.ndarray]
# Starting resolution laws (FWHM² = a + b E, keV) before the spectrum's own peaks refine them: an HPGe
# (about 0.7 keV at 60 keV, 1.4 keV at 662 keV) and a 3"x3" NaI(Tl) (about 7 % at 662 keV).
START_LAWS = {"semiconductor": (0.3, 0.0025), "scintillator": (4.0, 3.3)}
GROUP_COLUMNS = [
    "energy_kev",
    "intensity",
    "intensity_sd",
    "expected",
    "peak",
    "net",
    "sd",
    "decision_threshold",
    "detection_limit",
    "energy_chi2",
]
LINE_COLUMNS = ["nuclide", *GROUP_COLUMNS, "strongest"]
NUCLIDE_COLUMNS = [
    "nuclide",
    "series",
    "natural",
    "significance",
    "consistency",
    "amplitude",
    "lines_found",
    "lines_expected",
    "reported",
    "background",
    "decision_threshold",
    "detection_limit",
    "limit_line_kev",
]


@dataclass(frozen=True)
class DetectorResponse:
    """What the matcher needs of a detector: ``fwhm`` (keV as a function of keV; None: fitted to the spectrum's
    peaks), ``efficiency`` (relative full-energy efficiency as a function of keV; None:
    :func:`default_efficiency`), and ``kind`` (semiconductor or scintillator:
    the starting law of the fit; '' guesses from the channel width)."""

    fwhm: Law | None = None
    efficiency: Law | None = None
    kind: str = ""


def default_efficiency(energy: np.ndarray) -> np.ndarray:
    """Relative full-energy efficiency of a generic detector: 1 - exp(-(E/55)³) below (the entrance window, the
    source's capsule and the air absorb low-energy photons: the 31 keV Cs K X-rays of Ba-133 reach 4-15 % of the
    81 keV line's efficiency in the HPGe and NaI spectra of opengamma and baldr), E^-0.8 above 100 keV."""
    energy = np.asarray(energy, dtype=float)
    return (1 - np.exp(-((energy / 55.0) ** 3))) * np.minimum(1.0, (energy / 100.0) ** -0.8)


@dataclass(frozen=True)
class IdentifySettings:
    """Matching and reporting: ``match_fwhm`` (match window, FWHM), ``calibration_sd_kev`` and
    ``calibration_sd_fwhm`` (energy calibration uncertainty: keV plus a share of the FWHM, for the nonlinearity of
    scintillators), ``efficiency_sd`` (relative uncertainty of the efficiency shape, growing as
    (``efficiency_low_kev`` / E)² below that energy, where windows and dead layers differ), ``min_significance`` and
    ``min_consistency`` (reporting), ``min_intensity`` (lines weaker than this per decay are not scored),
    the calibration refinement (``refine_calibration``; :func:`autocalibrate.refine_calibration` with line groups
    of at least ``calibration_min_intensity`` per decay and ``calibration_min_efficiency``,
    ``calibration_min_peaks``, ``calibration_max_shift_fwhm``, ``calibration_max_gain``,
    ``calibration_min_peaks_rescaled``), and the peak settings."""

    match_fwhm: float = 0.5
    calibration_sd_kev: float = 0.1
    calibration_sd_fwhm: float = 0.15
    efficiency_sd: float = 0.35
    efficiency_low_kev: float = 60.0
    min_significance: float = 6.0
    min_consistency: float = 1e-3
    min_intensity: float = 0.002
    refine_calibration: bool = True
    calibration_min_intensity: float = 0.01
    calibration_min_efficiency: float = 0.1
    calibration_min_peaks: int = 3
    calibration_max_shift_fwhm: float = 3.0
    calibration_max_gain: float = 5.0
    calibration_min_peaks_rescaled: int = 6
    peaks: PeakSettings = field(default_factory=PeakSettings)

    @classmethod
    def from_config(cls, identify: Mapping[str, Any]) -> IdentifySettings:
        """The settings of a ``gamma.identify`` block (its ``library`` is not a setting)."""
        rest = {k: v for k, v in identify.items() if k not in ("library", "peaks")}
        return cls(**rest, peaks=PeakSettings(**identify.get("peaks", {})))


@dataclass
class Identification:
    """The result for one spectrum: ``peaks`` (found peaks with the nuclide explaining each, '' for none, and the
    residual net counts and significance left after the reported nuclides), ``nuclides`` (every library nuclide
    scored, with its ISO 11929 limits; ``reported`` the identified ones, ``background`` those of them attributed to
    the environment), ``resolution_peaks`` (how many peaks the resolution law was fitted to; 0: the given or
    starting law), ``lines`` (every scored nuclide's line groups: ``nuclide``, ``GROUP_COLUMNS``, ``strongest`` for
    the group its limits are given for; what activities and limits in Bq are computed from), ``calibration`` (the
    correction of the file's energy scale fitted to the peaks, None: the file's scale kept). Peak energies are on the
    corrected scale, ``energy_file_kev`` on the file's."""

    peaks: pd.DataFrame
    nuclides: pd.DataFrame
    fwhm: Law
    resolution_peaks: int
    lines: pd.DataFrame
    calibration: CalibrationFit | None = None

    @property
    def reported(self) -> list[str]:
        """The identified nuclides, sources and background, most significant first."""
        table = self.nuclides[self.nuclides["reported"]]
        return table.sort_values("significance", ascending=False)["nuclide"].tolist()

    @property
    def sources(self) -> list[str]:
        """The identified nuclides that are sources (not background), most significant first."""
        background = set(self.background)
        return [n for n in self.reported if n not in background]

    @property
    def background(self) -> list[str]:
        """The identified natural nuclides attributed to the background, most significant first."""
        table = self.nuclides[self.nuclides["reported"] & self.nuclides["background"]]
        return table.sort_values("significance", ascending=False)["nuclide"].tolist()

    @property
    def unexplained(self) -> pd.DataFrame:
        """Found peaks that no reported nuclide explains."""
        return self.peaks[self.peaks["unexplained"]]


def line_groups(lines: pd.DataFrame, fwhm: Law, low_kev: float, high_kev: float, min_intensity: float) -> pd.DataFrame:
    """Lines of one nuclide in [low, high] keV merged into groups closer than half an FWHM: energy (intensity
    weighted), intensity (sum) and its uncertainty (the lines' in quadrature), energy uncertainty; groups below
    ``min_intensity`` dropped."""
    lines = lines[(lines["energy_kev"] >= low_kev) & (lines["energy_kev"] <= high_kev)].sort_values("energy_kev")
    groups, current = [], []
    for row in lines.itertuples():
        if current and row.energy_kev - current[-1].energy_kev > 0.5 * float(fwhm(row.energy_kev)):
            groups.append(current)
            current = []
        current.append(row)
    if current:
        groups.append(current)
    table = pd.DataFrame(
        [
            {
                "energy_kev": sum(r.energy_kev * r.intensity for r in g) / sum(r.intensity for r in g),
                "intensity": sum(r.intensity for r in g),
                "intensity_sd": float(np.sqrt(sum(r.intensity_sd**2 for r in g))),
                "energy_sd_kev": max(r.energy_sd_kev for r in g),
                "kind": g[int(np.argmax([r.intensity for r in g]))].kind,
            }
            for g in groups
        ],
        columns=["energy_kev", "intensity", "intensity_sd", "energy_sd_kev", "kind"],
    )
    return table[table["intensity"] >= min_intensity].reset_index(drop=True)


def fit_amplitude(
    net: np.ndarray, sd: np.ndarray, expected: np.ndarray, shape_sd: np.ndarray, known: np.ndarray
) -> tuple[float, float, float]:
    """Amplitude A (>= 0) of ``net`` ≈ A·``expected``, its significance and the consistency of the groups.

    The significance is the counting-noise matched filter Σ n y / u² / sqrt(Σ y² / u²) (each group weighted by
    what it can tell under Poisson noise alone) over the ``known`` groups (those whose efficiency is known best:
    low-energy lines do not decide it when others exist). The consistency is the
    χ² probability of the groups' deficits (observed below A·expected; an excess may come from another nuclide),
    each with variance u² + (shape_sd·A·expected)², one degree of freedom per group less one (1.0 for one
    group)."""
    information = np.sum(expected[known] ** 2 / sd[known] ** 2)
    significance = float(np.sum(net[known] * expected[known] / sd[known] ** 2) / np.sqrt(information))
    amplitude = max(float(np.sum(net * expected / sd**2) / np.sum(expected**2 / sd**2)), 0.0)
    for _ in range(3):
        variance = sd**2 + (shape_sd * amplitude * expected) ** 2
        amplitude = max(float(np.sum(net * expected / variance) / np.sum(expected**2 / variance)), 0.0)
    variance = sd**2 + (shape_sd * amplitude * expected) ** 2
    # A net count below zero (a curved continuum under a region) says no more than zero does.
    deficit = np.minimum(np.maximum(net, 0.0) - amplitude * expected, 0.0)
    statistic = float(np.sum(deficit**2 / variance))
    consistency = float(chi2.sf(statistic, len(net) - 1)) if len(net) > 1 else 1.0
    return amplitude, float(significance), consistency


class Identifier:
    """Identifies the nuclides of spectra against ``library`` (the table of :mod:`nuclear_data`)."""

    def __init__(self, library: pd.DataFrame, settings: IdentifySettings | None = None) -> None:
        self.library = library
        self.settings = settings or IdentifySettings()

    def resolution(self, spectrum: Channels, detector: DetectorResponse) -> tuple[Law, int]:
        """The detector's law, or one fitted to the spectrum's peaks from the starting law of its kind."""
        if detector.fwhm is not None:
            return detector.fwhm, 0
        kind = detector.kind or ("semiconductor" if float(np.median(np.diff(spectrum.edges))) < 1.0 else "scintillator")
        a, b = START_LAWS[kind]
        return estimate_resolution(spectrum, lambda e: np.sqrt(a + b * np.asarray(e, dtype=float)), self.settings.peaks)

    def identify(
        self, spectrum: Channels, detector: DetectorResponse | None = None, reference: Channels | None = None
    ) -> Identification:
        """Peaks, nuclides (reported and not, with limits, sources or background) and unexplained peaks of
        ``spectrum``, on its energy scale corrected from its own peaks where they support a correction
        (``settings.refine_calibration``); ``reference`` is the spectrum less its background (None: no background
        known), against which reported natural nuclides are sources or background."""
        detector = detector or DetectorResponse()
        result = self._identify(spectrum, detector, reference)
        efficiency = detector.efficiency or default_efficiency
        fit = self.refine(result, efficiency) if self.settings.refine_calibration else None
        edges = fit(spectrum.edges) if fit is not None else spectrum.edges
        if fit is not None and np.all(np.diff(edges) > 0):
            corrected = None if reference is None else replace(reference, edges=edges)
            result = self._identify(replace(spectrum, edges=edges), detector, corrected)
            result.calibration = fit
        else:
            edges = spectrum.edges
        file_energy = np.interp(result.peaks["energy_kev"].to_numpy(float), edges, spectrum.edges)
        result.peaks.insert(1, "energy_file_kev", file_energy)
        return result

    def refine(self, result: Identification, efficiency: Law) -> CalibrationFit | None:
        """The correction of the energy scale that the peaks of a first ``result`` support
        (:func:`autocalibrate.refine_calibration` over every library nuclide's line groups of at least
        ``calibration_min_intensity`` photons per decay where the relative ``efficiency`` is at least
        ``calibration_min_efficiency``: L X-rays absorbed before the crystal neither calibrate nor are required;
        the strongest line is the one of most intensity times efficiency), or None."""
        settings = self.settings
        lines = {}
        for nuclide, table in self.library.groupby("nuclide", sort=True):
            groups = line_groups(
                table, result.fwhm, settings.peaks.min_energy_kev, np.inf, settings.calibration_min_intensity
            )
            relative = efficiency(groups["energy_kev"].to_numpy())
            groups = groups.assign(intensity=groups["intensity"] * relative)[
                relative >= settings.calibration_min_efficiency
            ]
            if len(groups):
                lines[nuclide] = groups
        return refine_calibration(
            result.peaks,
            lines,
            result.fwhm,
            min_peaks=settings.calibration_min_peaks,
            max_shift_fwhm=settings.calibration_max_shift_fwhm,
            max_gain=settings.calibration_max_gain,
            min_peaks_rescaled=settings.calibration_min_peaks_rescaled,
        )

    def _identify(self, spectrum: Channels, detector: DetectorResponse, reference: Channels | None) -> Identification:
        """One pass of identification on the spectrum's energy scale as given."""
        settings = self.settings
        efficiency = detector.efficiency or default_efficiency
        fwhm, used = self.resolution(spectrum, detector)
        spectrum = with_continuum(spectrum, fwhm, settings.peaks)
        spectrum = with_continuum(spectrum, fwhm, settings.peaks)
        found = search(spectrum, fwhm, settings.peaks)
        residual = found["net_counts"].to_numpy(dtype=float).copy()
        low, high = max(settings.peaks.min_energy_kev, float(spectrum.edges[0])), float(spectrum.edges[-1])
        candidates = {}
        for nuclide, lines in self.library.groupby("nuclide", sort=True):
            groups = line_groups(lines, fwhm, low, high, settings.min_intensity)
            measured = self._measure(spectrum, groups, found, fwhm, efficiency) if len(groups) else groups
            if len(measured):
                candidates[nuclide] = measured
        reported, explained_by = [], np.full(len(found), "", dtype=object)
        while True:
            scores = {n: self._score(c, residual) for n, c in candidates.items() if n not in reported}
            passing = {n: s for n, s in scores.items() if self._passes(s)}
            if not passing:
                break
            best = max(passing, key=lambda n: passing[n]["rank"])
            reported.append(best)
            groups = candidates[best]
            predicted = passing[best]["amplitude"] * groups["expected"].to_numpy()
            for peak, value in zip(groups["peak"], predicted, strict=True):
                if peak >= 0:
                    share = min(value, residual[peak]) if residual[peak] > 0 else 0.0
                    residual[peak] -= share
                    if share > 0.2 * found.at[peak, "net_counts"]:  # a fifth of a peak or more: it explains it
                        explained_by[peak] = "+".join(filter(None, [explained_by[peak], best]))
        rows, lines = [], []
        for nuclide, groups in candidates.items():
            score = self._score(groups, residual if nuclide not in reported else None)
            index = self._strongest(groups)
            strongest = groups.iloc[index]
            lines.append(groups.assign(nuclide=nuclide, strongest=np.arange(len(groups)) == index)[LINE_COLUMNS])
            labels = self._labels(nuclide)
            environmental = labels["natural"] or bool(labels["series"])
            rows.append(
                {
                    "nuclide": nuclide,
                    **labels,
                    **score,
                    "reported": nuclide in reported,
                    "background": nuclide in reported
                    and environmental
                    and not self._above_background(groups, reference, fwhm),
                    "decision_threshold": strongest["decision_threshold"],
                    "detection_limit": strongest["detection_limit"],
                    "limit_line_kev": strongest["energy_kev"],
                }
            )
        nuclides = pd.DataFrame(rows, columns=NUCLIDE_COLUMNS)
        peaks = found.assign(
            nuclides=explained_by,
            residual_counts=residual,
            residual_significance=residual / found["net_counts_sd"].to_numpy(),
        )
        peaks["unexplained"] = (
            (peaks["nuclides"] == "")
            & (peaks["residual_significance"] >= settings.peaks.search_sigma)
            & (peaks["residual_counts"] > peaks["decision_threshold"])
        )
        line_table = pd.concat(lines, ignore_index=True) if lines else pd.DataFrame(columns=LINE_COLUMNS)
        return Identification(peaks, nuclides, fwhm, used, line_table)

    def _above_background(self, groups: pd.DataFrame, reference: Channels | None, fwhm: Law) -> bool:
        """Whether the found lines of ``groups`` have, summed, net counts above their ISO 11929 decision threshold in
        ``reference`` (the spectrum less its background; None: no background known, so not)."""
        found = groups[groups["peak"] >= 0]
        if reference is None or found.empty:
            return False
        limits = np.array(
            [region_limits(reference, e, float(fwhm(e)), self.settings.peaks) for e in found["energy_kev"]]
        )
        net, threshold = limits[:, 0], limits[:, 2]
        keep = np.isfinite(net) & np.isfinite(threshold)
        return bool(keep.any() and net[keep].sum() > np.sqrt(np.sum(threshold[keep] ** 2)))

    def _labels(self, nuclide: str) -> dict[str, object]:
        row = self.library[self.library["nuclide"] == nuclide].iloc[0]
        return {"series": row["series"], "natural": bool(row["natural"])}

    def _measure(
        self, spectrum: Channels, groups: pd.DataFrame, found: pd.DataFrame, fwhm: Law, efficiency: Law
    ) -> pd.DataFrame:
        """Each group's matched peak (-1: none) and its net counts, or the targeted ISO 11929 region's in the
        spectrum with the found peaks taken out (so a neighbouring peak is not counted as the line); groups matched
        to the same peak are one."""
        settings = self.settings
        stripped = strip_peaks(spectrum, found)
        rows = []
        for group in groups.itertuples():
            width = float(fwhm(group.energy_kev))
            window = np.linalg.norm([settings.match_fwhm * width, settings.calibration_sd_kev, group.energy_sd_kev])
            if group.kind == "annihilation":  # Doppler broadened
                window *= 2
            distance = np.abs(found["energy_kev"].to_numpy() - group.energy_kev) if len(found) else np.array([np.inf])
            peak = int(np.argmin(distance)) if distance.min() <= window else -1
            net, sd, threshold, limit = region_limits(stripped, group.energy_kev, width, settings.peaks)
            energy_chi2 = 0.0
            if peak >= 0:
                net, sd = found.at[peak, "net_counts"], found.at[peak, "net_counts_sd"]
                energy_sd = np.linalg.norm(
                    [
                        found.at[peak, "energy_sd_kev"],
                        group.energy_sd_kev,
                        settings.calibration_sd_kev,
                        settings.calibration_sd_fwhm * width,
                    ]
                )
                energy_chi2 = float((found.at[peak, "energy_kev"] - group.energy_kev) / energy_sd) ** 2
            rows.append(
                {
                    "energy_kev": group.energy_kev,
                    "intensity": group.intensity,
                    "intensity_sd": group.intensity_sd,
                    "expected": group.intensity * float(efficiency(group.energy_kev)),
                    "peak": peak,
                    "net": net,
                    "sd": max(sd, 1.0) if np.isfinite(sd) else np.nan,
                    "decision_threshold": threshold,
                    "detection_limit": limit,
                    "energy_chi2": energy_chi2,
                }
            )
        table = pd.DataFrame(rows, columns=GROUP_COLUMNS).astype(float).astype({"peak": int})
        table = table[np.isfinite(table["sd"])]
        matched = table[table["peak"] >= 0].sort_values("expected", ascending=False)
        merged = matched.groupby("peak", sort=False).agg(
            {**{c: "first" for c in GROUP_COLUMNS}, "expected": "sum", "intensity": "sum", "intensity_sd": _quadrature}
        )
        return pd.concat([merged, table[table["peak"] < 0]], ignore_index=True)[GROUP_COLUMNS]

    def _score(self, groups: pd.DataFrame, residual: np.ndarray | None) -> dict[str, float]:
        net = groups["net"].to_numpy(dtype=float).copy()
        peak = groups["peak"].to_numpy()
        if residual is not None:
            net[peak >= 0] = residual[peak[peak >= 0]]
        expected, sd = groups["expected"].to_numpy(), groups["sd"].to_numpy()
        if not len(net):
            return {"significance": 0.0, "consistency": 0.0, "amplitude": 0.0, "lines_found": 0, "lines_expected": 0}
        shape_sd, known = self._shape(groups)
        amplitude, significance, consistency = fit_amplitude(net, sd, expected, shape_sd, known)
        detectable = amplitude * expected > groups["detection_limit"].to_numpy()
        strongest = self._strongest(groups)
        return {
            "significance": significance,
            "consistency": consistency,
            "amplitude": amplitude,
            "lines_found": int(((peak >= 0) & (net > 0)).sum()),
            "lines_expected": int(detectable.sum()),
            "strongest_found": bool(
                (peak[strongest] >= 0 and net[strongest] > 0)
                or net[strongest] > groups["decision_threshold"].iloc[strongest]
            ),
            "rank": float(np.sum((np.clip(np.minimum(net, amplitude * expected), 0, None) / sd)[peak >= 0] ** 2))
            - float(groups["energy_chi2"].sum()),
        }

    def _shape(self, groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Relative uncertainty of each group's efficiency and which groups have it known best (those at or above
        ``efficiency_low_kev``; with none, those within twice the best)."""
        base = self.settings.efficiency_sd
        shape_sd = base * np.maximum(1.0, (self.settings.efficiency_low_kev / groups["energy_kev"].to_numpy()) ** 2)
        lowest = float(shape_sd.min())
        return shape_sd, shape_sd <= (base if lowest <= base else 2 * lowest) * (1 + 1e-9)

    def _strongest(self, groups: pd.DataFrame) -> int:
        """The most detectable group (expected counts over detection limit) of those with a known efficiency."""
        detectability = groups["expected"].to_numpy() / np.maximum(groups["detection_limit"].to_numpy(), 1.0)
        return int(np.argmax(np.where(self._shape(groups)[1], detectability, -np.inf)))

    def _passes(self, score: dict[str, float]) -> bool:
        return (
            score["significance"] >= self.settings.min_significance
            and score["lines_found"] >= 1
            and score["consistency"] >= self.settings.min_consistency
            and bool(score.get("strongest_found"))
        )


def _quadrature(values: pd.Series) -> float:
    return float(np.sqrt(np.sum(np.square(values))))


def detector_kind(fwhm: Law) -> str:
    """Semiconductor or scintillator, by the resolution law's FWHM at 662 keV (under or over 10 keV)."""
    return "semiconductor" if float(fwhm(662.0)) < 10 else "scintillator"


def strip_peaks(spectrum: Channels, found: pd.DataFrame) -> Channels:
    """``spectrum`` less the fitted Gaussians of the ``found`` peaks (variance and continuum kept)."""
    edges, counts = spectrum.edges, spectrum.counts.copy()
    for peak in found.itertuples():
        sigma = peak.fwhm_kev / FWHM_PER_SIGMA
        counts -= peak.net_counts * np.diff(ndtr((edges - peak.energy_kev) / sigma))
    return Channels(counts, spectrum.variance, edges, spectrum.continuum, spectrum.net, spectrum.continuum_shift)


def query_channels(spectra: list[Spectrum]) -> list[tuple[Spectrum, Channels, Channels | None]]:
    """Each spectrum on its channels, less the background measured with it where its live time is known: the
    spectrum named ``... Background`` of the same file (a PyRIID SampleSet's), scaled by live time, on the same
    channels. A ``Spectrum.background`` without live time (the OpenGamma traces) is not subtracted from the
    searched spectrum.

    The third element is the reference of the background attribution (:meth:`Identifier.identify`): the spectrum
    less its background, i.e. the net channels where a background was subtracted, the spectrum less its
    ``Spectrum.background`` trace as the file gives it (the file's own 'Clean' spectrum), the background measurement
    less itself, or None where no background is known."""
    backgrounds = {s.name.split("[")[0]: s for s in spectra if s.name.endswith("] Background")}
    triples = []
    for spectrum in spectra:
        energies = spectrum.channel_energies
        background = backgrounds.get(spectrum.name.split("[")[0])
        if background is not None and len(background.counts) == len(spectrum.counts):
            scale = spectrum.live_time / background.live_time if background is not spectrum else 1.0
            counts = scale * np.asarray(background.counts, dtype=float)
            net = channels_of(spectrum.counts, energies, counts, scale * counts)
            if background is spectrum:
                triples.append((spectrum, channels_of(spectrum.counts, energies), net))
            else:
                triples.append((spectrum, net, net))
            continue
        gross = channels_of(spectrum.counts, energies)
        trace = spectrum.background
        reference = None
        if trace is not None and len(trace) == len(spectrum.counts):
            reference = channels_of(spectrum.counts, energies, np.asarray(trace, dtype=float))
        triples.append((spectrum, gross, reference))
    return triples


SUMMARY_COLUMNS = [
    "file",
    "peak_resolution",
    "peak_has_source",
    "peak_nuclides",
    "peak_series",
    "peak_significance",
    "peak_background",
    "unexplained_peaks",
    "calibration",
    "calibration_nuclide",
    "calibration_coefficients",
    "calibration_residuals",
]


def calibration_summary(fit: CalibrationFit | None) -> dict[str, str]:
    """The ``calibration*`` columns of :func:`identify_spectra` for a spectrum's ``fit``: ``file`` (kept),
    ``corrected`` or ``rescaled``; the nuclide whose peaks fixed it; the coefficients of the corrected energy as a
    polynomial of the file's (increasing powers, ';'-separated); each matched line's residual ('line:residual' keV)."""
    if fit is None:
        return {"calibration": "file", **dict.fromkeys(SUMMARY_COLUMNS[-3:], "")}
    return {
        "calibration": "rescaled" if fit.rescaled else "corrected",
        "calibration_nuclide": str(fit.pairs["nuclide"].iloc[0]),
        "calibration_coefficients": ";".join(f"{c:.6g}" for c in fit.coefficients),
        "calibration_residuals": ";".join(
            f"{p.line_kev:.2f}:{p.residual_kev:+.3f}" for p in fit.pairs.sort_values("line_kev").itertuples()
        ),
    }


def identify_spectra(
    spectra: list[Spectrum],
    library: pd.DataFrame,
    settings: IdentifySettings,
    detector: str | Mapping[str, Any] = "auto",
    *,
    each: Callable[[Spectrum, Identification, str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Peak-based identification of ``spectra`` (a background measured with them subtracted, and the reference of
    the background attribution: :func:`query_channels`) with the resolution law of the ``detector``
    (``gamma.query_detector``: a preset name or block, :class:`DetectorPreset`), or with 'auto' a law fitted to
    each spectrum's own peaks.

    Returns three tables: per spectrum (``SUMMARY_COLUMNS``: the resolution law used, whether a source is
    reported, the source nuclides, their series, their significances, the natural nuclides attributed to the
    background, the unexplained peaks as 'energy keV (net counts, z sigma)', the energy calibration used:
    :func:`calibration_summary`), the
    found peaks (file, peak columns, the nuclides explaining each, ``unexplained``), and per spectrum and library
    nuclide the score and the ISO 11929 decision threshold and detection limit (net counts of its most detectable
    line). ``each``, where given, is called with every spectrum, its :class:`Identification` and its detector kind
    (semiconductor or scintillator; e.g. to compute activities from the groups).
    """
    identifier = Identifier(library, settings)
    if detector == "auto":
        response, name = DetectorResponse(), "auto"
    else:
        preset = DetectorPreset.from_config(detector, "gamma.query_detector")
        response, name = DetectorResponse(fwhm=preset.fwhm), preset.name
    summaries, peaks, limits = [], [], []
    for spectrum, channels, reference in query_channels(spectra):
        result = identifier.identify(channels, response, reference)
        reported = result.nuclides.set_index("nuclide").loc[result.sources]
        kind = response.kind or detector_kind(result.fwhm)
        if each is not None:
            each(spectrum, result, kind)
        named = f", file: {spectrum.detector}" if spectrum.detector else ""
        summaries.append(
            {
                "file": spectrum.name,
                "peak_resolution": f"{name} ({kind}{named}; FWHM {float(result.fwhm(662.0)):.3g} keV at 662 keV, "
                f"fitted to {result.resolution_peaks} peaks)",
                "peak_has_source": bool(result.sources),
                "peak_nuclides": "+".join(result.sources),
                "peak_series": "+".join(sorted({s for s in reported["series"] if s})),
                "peak_significance": ";".join(f"{n}:{z:.1f}" for n, z in reported["significance"].items()),
                "peak_background": "+".join(result.background),
                "unexplained_peaks": "; ".join(
                    f"{p.energy_kev:.1f} keV ({p.residual_counts:.0f} counts, {p.residual_significance:.1f} sigma)"
                    for p in result.unexplained.itertuples()
                ),
                **calibration_summary(result.calibration),
            }
        )
        peaks.append(result.peaks.assign(file=spectrum.name))
        limits.append(result.nuclides.assign(file=spectrum.name))
    peak_table = pd.concat(peaks, ignore_index=True) if peaks else pd.DataFrame()
    limit_table = pd.concat(limits, ignore_index=True) if limits else pd.DataFrame(columns=NUCLIDE_COLUMNS)
    first = ["file"]
    return (
        pd.DataFrame(summaries, columns=SUMMARY_COLUMNS),
        peak_table[first + [c for c in peak_table.columns if c != "file"]] if len(peak_table) else peak_table,
        limit_table[first + NUCLIDE_COLUMNS],
    )
