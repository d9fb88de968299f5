"""Whole-pattern fit of a measured powder pattern with library phases (Rietveld-like, fixed atoms), phases added
stepwise while the fit improves beyond noise, weight fractions by Hill & Howard.

Model of the counts y(2theta) on the measured points:

    y_calc = background (Chebyshev polynomial in 2theta) + sum_p S_p sum_hkl 2|F_hkl|^2 LP_hkl
             [pv(2theta - 2theta_hkl,a1 - z) + r pv(2theta - 2theta_hkl,a2 - z)]

with per phase the scale S_p, the cell metric within a strain window (only the components the lattice's own point
group leaves free: one for cubic, two for tetragonal and hexagonal, three for orthorhombic, four for monoclinic,
six for triclinic), a Caglioti-type width FWHM^2 = U tan^2(theta) + W, a pseudo-Voigt Lorentzian fraction,
(``texture: march_dollase``) preferred orientation: each point's intensity times the March-Dollase factor
P = (r^2 cos^2 a + sin^2 a / r)^(-3/2), a the angle between its scattering vector and the phase's preferred
direction (one of a few low-index directions of the reciprocal basis, chosen by the fit), r within
``texture_ratio_range``, and (``b_factor: overall``) an overall isotropic displacement parameter B of all its atoms
(every scattering factor times exp(-B s^2), s = sin(theta)/lambda; library structures carry none) within
``b_factor_range``; texture and B are refined once the phase is accepted; per pattern the zero shift z and the
K-alpha2/K-alpha1 ratio and wavelengths of the file.
2|F|^2 LP is the absolute intensity per unit cell of :func:`fingerprintml.xrd.reflections.stick_intensities`
(every point of the Friedel half-space counted twice: multiplicities included, no normalisation), the profiles are
area-normalised, so S_p is the Rietveld scale factor and the weight fraction is W_p = S_p (ZMV)_p / sum_i S_i
(ZMV)_i (Hill & Howard, J. Appl. Cryst. 20, 467, 1987), with ZM the mass of the cell the reflections were computed
for and V its volume.
P averages to 1 over the directions of the sphere (Dollase, J. Appl. Cryst. 19, 267, 1986), so texture moves
intensity between reflections and leaves S_p, and the weight fraction, the phase's. B lowers all of a phase's
intensities, the more the higher the angle, and S_p rises to match (Rietveld's overall B). Microabsorption (Brindley) is
not corrected. Residuals are in Poisson units (1/max(y, 1) weights) and
cost their square, except above the model beyond ``impurity_sigma``, where they cost logarithmically
(:func:`impurity_cost`, the impurity-tolerant likelihood of robust Rietveld refinement): a phase outside the model
can only add intensity. Scales and background are solved for each trial of the non-linear parameters (variable
projection) by re-weighted least squares, scales non-negative.

A phase is added when the F statistic of its parameters (the fall of that cost per added parameter over the noise
variance of the model with it, from the residuals below the model, which peaks of phases outside the library
cannot reach) exceeds ``min_evidence``, and that on its own points (where it contributes more than the phases
already chosen) ``min_own_evidence``; a phase whose weight fraction ends below ``min_significance`` standard
deviations is dropped, and, given a calibrated confidence, one whose P(present) is below ``min_confidence``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import spglib
from numpy.polynomial import chebyshev
from pymatgen.core import Structure
from scipy import optimize, signal

from fingerprintml.xrd.augment import ORIENTATION_AXES
from fingerprintml.xrd.reflections import Reflections, compute_reflections, squared_spacings, stick_intensities

log = logging.getLogger(__name__)


TEXTURES = ("march_dollase", "none")
GLOBALS = 2  # non-linear parameters of the whole pattern: zero shift, asymmetry
MAX_SPLIT = 0.6  # largest relative difference of a peak's half widths from the asymmetry
B_FACTORS = ("overall", "none")


@dataclass(frozen=True)
class FitSettings:
    """How a pattern is fitted (``xrd.identify.fit``).

    Parameters
    ----------
    strain_window
        Largest relative change of a lattice parameter from the library cell.
    max_zero_shift
        Largest zero shift (deg).
    max_asymmetry
        Largest axial-divergence asymmetry A: a peak's low-angle half-width is (1 + A cot 2theta) and its
        high-angle one (1 - A cot 2theta) times half the FWHM (capped at 0.6).
    background_terms
        Chebyshev polynomial terms of the background (16 follow an amorphous hump of a few degrees' sd, as the
        augmenter's and sample holders' are; with 10 its misfit was taken up by spurious broad phases).
    fwhm_range
        Bounds of the peak FWHM at 2theta = 90 deg (deg).
    window_fwhm
        Each peak is evaluated within this many FWHM of its centre (Lorentzian tails beyond are cut).
    max_phases
        Most phases reported per pattern.
    screen
        Candidates refined in full at each step (the best by a linear fit at fixed cells and widths; the linear
        fit ranks the demo's zincblende ZnO third, behind fluorite ZrO2 and rocksalt AgF on the same lattice).
    screen_strains
        Uniform strains tried per side of zero (within the window) when screening.
    bin_step
        The pattern is fitted with its counts summed over adjacent points to at least this step (deg): several
        points per peak width still, at a fraction of the cost.
    selection_evaluations, final_evaluations
        Most model evaluations of a trial fit during selection and of the final fit.
    min_evidence
        F statistic a phase's parameters must reach to be added (real patterns leave systematic misfit, so far
        above the F distribution's quantiles: set on measured mixtures, see the dara benchmark).
    min_own_evidence
        F statistic a candidate's parameters must reach on its own points too (where it contributes more than the
        chosen phases together; the fall of the cost there, per parameter, over the noise variance): a phase is
        seen by peaks that are its own, while one that only trades intensity under the chosen phases' peaks (their
        intensity misfit: grain statistics, texture or displacement beyond the model) is not a phase of the
        sample however much it lowers the cost.
    min_significance
        A phase is reported only if its weight fraction is at least this many standard deviations; the least
        significant one below is dropped and the rest refitted (a phase at 0 +- sd is not a phase of the sample).
    min_confidence
        With a calibrated confidence given to :func:`fit_pattern`, a phase is reported only if its P(present) is at
        least this; the least likely one below is dropped and the rest refitted (a phase more likely absent than
        present is an alternative, not a finding); 0: none dropped.
    impurity_sigma
        Residuals above the model beyond this many standard deviations cost only logarithmically more (intensity
        of a phase outside the model, :func:`impurity_cost`), so such peaks pull neither the background, nor the
        scales and cells, nor the evidence of the phases that are in the model.
    robust_iterations
        Re-weightings of the linear solve (background and scales) for that cost.
    noise_sigma
        Residual peaks above this many standard deviations (Poisson) are reported as unexplained.
    unexplained_peaks
        Most unexplained peaks reported per pattern.
    texture
        ``march_dollase``: preferred orientation per phase, refined once the phase is accepted (a candidate is
        weighed untextured, so that texture cannot make a wrong phase fit; the direction the one of the
        augmenter's low-index directions that fits best then); ``none``: random orientation.
    texture_ratio_range
        Bounds of the March-Dollase r (below 1: platelets with the direction along the sample normal; above 1:
        needles).
    b_factor
        ``overall``: an isotropic displacement parameter B per phase, refined once the phase is accepted (the
        intensity fall with angle that thermal motion and static disorder give every real sample); ``none``: the
        library structures' intensities as they are.
    b_factor_range
        Bounds of B (angstrom^2).
    """

    strain_window: float = 0.01
    max_zero_shift: float = 0.15
    max_asymmetry: float = 0.1
    background_terms: int = 16
    fwhm_range: tuple[float, float] = (0.03, 0.6)
    window_fwhm: float = 12.0
    max_phases: int = 3
    screen: int = 3
    screen_strains: int = 2
    bin_step: float = 0.04
    selection_evaluations: int = 10
    final_evaluations: int = 25
    min_evidence: float = 40.0
    min_own_evidence: float = 40.0
    min_significance: float = 3.0
    min_confidence: float = 0.0
    impurity_sigma: float = 3.0
    robust_iterations: int = 8
    noise_sigma: float = 6.0
    unexplained_peaks: int = 5
    texture: str = "march_dollase"
    texture_ratio_range: tuple[float, float] = (0.5, 2.0)
    b_factor: str = "overall"
    b_factor_range: tuple[float, float] = (0.0, 3.0)

    def __post_init__(self) -> None:
        if self.texture not in TEXTURES:
            raise ValueError(f"xrd.identify.fit.texture: {self.texture!r} is none of {', '.join(TEXTURES)}")
        low, high = self.texture_ratio_range
        if not 0 < low <= 1 <= high:
            raise ValueError(f"xrd.identify.fit.texture_ratio_range: {[low, high]} must hold 1 and be above 0")
        if self.b_factor not in B_FACTORS:
            raise ValueError(f"xrd.identify.fit.b_factor: {self.b_factor!r} is none of {', '.join(B_FACTORS)}")
        low, high = self.b_factor_range
        if not low <= 0 < high:
            raise ValueError(f"xrd.identify.fit.b_factor_range: {[low, high]} must hold 0 and a larger bound")

    @classmethod
    def from_config(cls, fit: dict) -> FitSettings:
        values = dict(fit)
        for key in ("fwhm_range", "texture_ratio_range", "b_factor_range"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


@dataclass(frozen=True)
class Radiation:
    """K-alpha1 and K-alpha2 wavelengths (angstrom) and the K-alpha2/K-alpha1 intensity ratio."""

    kalpha1: float
    kalpha2: float | None = None
    ratio: float = 0.0


@dataclass
class FitPhase:
    """A library phase as the fit uses it: reflections of a cell and that cell's mass (amu)."""

    name: str
    reflections: Reflections
    cell_mass: float

    @classmethod
    def from_structure(
        cls, name: str, structure: Structure, radiation: Radiation, two_theta_max: float, dispersion: bool = True
    ) -> FitPhase:
        """Reflections of ``structure`` as given (its cell, up to ``two_theta_max`` + the strain margin), with the
        anomalous dispersion f', f'' at K-alpha1 that a measured pattern's intensities carry (``dispersion``, see
        :func:`fingerprintml.xrd.reflections.compute_reflections`)."""
        refl = compute_reflections(structure, radiation.kalpha1, two_theta_max, dispersion).allowed
        return cls(name, refl, float(structure.composition.weight))

    @functools.cached_property
    def metric_basis(self) -> np.ndarray:
        """Orthonormal basis (K, 3, 3) of the direct metric tensors the lattice's point group leaves invariant."""
        return metric_basis(self.reflections.lattice)

    @functools.cached_property
    def texture_directions(self) -> np.ndarray:
        """The preferred directions (reciprocal basis, (D, 3)) the fit tries: the augmenter's low-index ones less
        those the point group makes equivalent to an earlier one (the same peak intensities under texture)."""
        first, group = _degenerate_groups(self.reflections)
        kept: list[np.ndarray] = []
        patterns: list[np.ndarray] = []
        for direction in ORIENTATION_AXES:
            _, intensity = stick_intensities(self.reflections, 1.0, orientation=(0.7, direction))
            pattern = np.bincount(group, weights=intensity, minlength=len(first))
            if not any(np.allclose(pattern, other, rtol=1e-6, atol=0) for other in patterns):
                kept.append(direction)
                patterns.append(pattern)
        return np.array(kept)


def metric_basis(lattice: np.ndarray, symprec: float = 1e-3) -> np.ndarray:
    """Basis of the symmetric 3x3 metrics G with W^T G W = G for every rotation W (fractional) of the point group
    of ``lattice`` (rows a, b, c): the lattice parameters the crystal system leaves free."""
    rotations = spglib.get_symmetry((lattice, [[0.0, 0.0, 0.0]], [1]), symprec=symprec)["rotations"]
    upper = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
    units = []
    for i, j in upper:
        unit = np.zeros((3, 3))
        unit[i, j] = unit[j, i] = 1.0
        units.append(unit)
    # Linear map metric -> W^T G W - G for every rotation, on the 6 independent components.
    rows = [
        np.array([(w.T @ unit @ w - unit)[i, j] for unit in units]) for w in rotations.astype(float) for i, j in upper
    ]
    _, singular, vt = np.linalg.svd(np.array(rows))
    rank = int((singular > 1e-9).sum())
    basis = np.array([sum(c * unit for c, unit in zip(v, units, strict=True)) for v in vt[rank:]])
    return basis / np.linalg.norm(basis, axis=(1, 2))[:, None, None]


@dataclass
class PhaseResult:
    """One fitted phase: its index in the candidate list, scale, refined cell and weight fraction."""

    index: int
    name: str
    scale: float
    lattice: np.ndarray  # refined direct lattice parameters a, b, c (angstrom), alpha, beta, gamma (deg)
    fwhm: float  # at 2theta = 90 deg
    texture_direction: tuple[int, int, int] | None = None  # reciprocal basis; None: fit without texture
    texture_ratio: float = 1.0  # March-Dollase r
    b_factor: float = 0.0  # overall isotropic displacement parameter B (angstrom^2)
    weight_fraction: float = math.nan
    weight_fraction_sd: float = math.nan
    evidence: float = math.nan  # F statistic of the phase's parameters when it was added
    confidence: float = math.nan  # calibrated P(present), when a confidence was given to the fit


@dataclass
class FitResult:
    """A fitted pattern: phases, zero shift, Rwp, the fitted curves and the unexplained peaks."""

    phases: list[PhaseResult]
    zero_shift: float
    asymmetry: float
    rwp: float
    two_theta: np.ndarray
    observed: np.ndarray
    background: np.ndarray
    components: np.ndarray  # (phases, points) each phase's fitted contribution
    unexplained: list[tuple[float, float]] = field(default_factory=list)  # (2theta, % of the strongest peak)
    # Phases added, then dropped (not significant or not likely present), with their fitted contribution then.
    dropped: list[tuple[PhaseResult, np.ndarray]] = field(default_factory=list)

    @property
    def calculated(self) -> np.ndarray:
        return self.background + self.components.sum(axis=0)


class PatternModel:
    """The counts model of a set of phases on fixed measured points; parameters as in the module docstring."""

    def __init__(
        self,
        phases: Sequence[FitPhase],
        two_theta: np.ndarray,
        counts: np.ndarray,
        radiation: Radiation,
        settings: FitSettings,
        directions: Sequence[int] | None = None,
        settled: Sequence[bool] | None = None,
    ) -> None:
        self.phases = list(phases)
        # Each phase's preferred direction: an index into its texture_directions.
        self.directions = [0] * len(self.phases) if directions is None else list(directions)
        # Accepted phases (all by default) have the intensity corrections the settings ask for: a March-Dollase r
        # and an overall B; a candidate being weighed has neither.
        settled = [True] * len(self.phases) if settled is None else list(settled)
        self.textured = [settings.texture == "march_dollase" and s for s in settled]
        self.damped = [settings.b_factor == "overall" and s for s in settled]
        self.two_theta, self.counts = two_theta, counts
        self.radiation, self.settings = radiation, settings
        self.weights = 1.0 / np.maximum(counts, 1.0)
        self.sqrt_weights = np.sqrt(self.weights)
        x = 2 * (two_theta - two_theta[0]) / (two_theta[-1] - two_theta[0]) - 1
        self.background_basis = chebyshev.chebvander(x, settings.background_terms - 1)
        self.bases = [phase.metric_basis for phase in self.phases]
        self.metrics0 = [phase.reflections.lattice @ phase.reflections.lattice.T for phase in self.phases]
        self.step = float(np.median(np.diff(two_theta)))
        self.groups = [_degenerate_groups(phase.reflections) for phase in self.phases]

    # Non-linear parameter vector: zero shift, then per phase its metric coordinates, log FWHM at 90 deg,
    # tan-theta share of the width, Lorentzian fraction, (textured) log March-Dollase r and (damped) B.
    def initial(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start values (FWHM 0.12 deg, no strain, shift, texture or B) and bounds of the non-linear parameters."""
        # The pattern's zero shift and asymmetry.
        values = [0.0, 0.0]
        lower = [-self.settings.max_zero_shift, 0.0]
        upper = [self.settings.max_zero_shift, self.settings.max_asymmetry]
        low_w, high_w = (math.log(w) for w in self.settings.fwhm_range)
        for k, basis in enumerate(self.bases):
            # A uniform strain e moves the metric by 2 e G0, i.e. by 2 e |G0| / size along the basis.
            window = (
                2 * self.settings.strain_window * np.linalg.norm(self.metrics0[k]) / (np.trace(self.metrics0[k]) / 3)
            )
            values += [0.0] * len(basis) + [math.log(0.12), 0.5, 0.5]
            lower += [-window] * len(basis) + [low_w, 0.0, 0.0]
            upper += [window] * len(basis) + [high_w, 1.0, 1.0]
            if self.textured[k]:
                values.append(0.0)
                lower.append(math.log(self.settings.texture_ratio_range[0]))
                upper.append(math.log(self.settings.texture_ratio_range[1]))
            if self.damped[k]:
                values.append(0.0)
                lower.append(self.settings.b_factor_range[0])
                upper.append(self.settings.b_factor_range[1])
        return np.array(values), np.array(lower), np.array(upper)

    def offset(self, k: int) -> int:
        """Position of phase ``k``'s first parameter in the non-linear parameter vector."""
        return GLOBALS + sum(self.size(j) for j in range(k))

    def size(self, k: int) -> int:
        """Number of phase ``k``'s non-linear parameters."""
        return len(self.bases[k]) + 3 + self.textured[k] + self.damped[k]

    def settled_defaults(self, k: int) -> np.ndarray:
        """Start values of phase ``k``'s intensity corrections (log r, B: none), appended to its parameters when a
        candidate is accepted."""
        return np.zeros(self.textured[k] + self.damped[k])

    def _cell(self, k: int, coordinates: np.ndarray) -> np.ndarray:
        metric0 = self.metrics0[k]
        size = np.trace(metric0) / 3
        metric = metric0 + size * np.tensordot(coordinates, self.bases[k], axes=1)
        return np.linalg.cholesky(metric)  # rows: a lattice with this metric (orientation irrelevant)

    def _unpack(
        self, params: np.ndarray
    ) -> tuple[float, float, list[tuple[np.ndarray, float, float, float, float, float]]]:
        """Zero shift, asymmetry and per phase (metric coordinates, log width, tan share, Lorentz fraction, log r,
        B)."""
        zero, asymmetry, position, phases = params[0], params[1], GLOBALS, []
        for k, basis in enumerate(self.bases):
            n = len(basis)
            coords = params[position : position + n]
            log_r = params[position + n + 3] if self.textured[k] else 0.0
            b_factor = params[position + n + 3 + self.textured[k]] if self.damped[k] else 0.0
            phases.append((coords, *params[position + n : position + n + 3], log_r, b_factor))
            position += self.size(k)
        return zero, asymmetry, phases

    def columns(self, params: np.ndarray) -> np.ndarray:
        """Each phase's pattern at unit scale (phases, points)."""
        zero, asymmetry, per_phase = self._unpack(params)
        return np.array([self._phase_pattern(k, *phase, zero, asymmetry) for k, phase in enumerate(per_phase)]).reshape(
            len(self.phases), len(self.two_theta)
        )

    def _phase_pattern(
        self,
        k: int,
        coords: np.ndarray,
        log_width: float,
        share: float,
        eta: float,
        log_r: float,
        b_factor: float,
        zero: float,
        asymmetry: float,
    ) -> np.ndarray:
        lattice = self._cell(k, coords)
        refl = self.phases[k].reflections
        orientation = (math.exp(log_r), self.phases[k].texture_directions[self.directions[k]]) if log_r else None
        two_theta, intensity = stick_intensities(
            refl,
            self.radiation.kalpha1,
            reciprocal=np.linalg.inv(lattice).T,
            b_factors=np.full(len(refl.symbols), b_factor) if b_factor else None,
            orientation=orientation,
        )
        first, group = self.groups[k]
        intensity = np.bincount(group, weights=intensity, minlength=len(first))
        two_theta = two_theta[first]
        keep = np.isfinite(two_theta) & (intensity > 1e-7 * intensity.max())
        two_theta, intensity = two_theta[keep], intensity[keep]
        centres, heights = [two_theta], [intensity]
        if self.radiation.kalpha2 and self.radiation.ratio > 0:
            sin_theta = np.sin(np.radians(two_theta / 2)) * self.radiation.kalpha2 / self.radiation.kalpha1
            reached = sin_theta < 1
            centres.append(np.degrees(2 * np.arcsin(sin_theta[reached])))
            heights.append(intensity[reached] * self.radiation.ratio)
        centres, heights = np.concatenate(centres) + zero, np.concatenate(heights)
        # FWHM^2 = W + U tan^2(theta), normalised at 90 deg: share of the tan term there in [0, 1].
        tan2 = np.tan(np.radians(centres / 2)) ** 2
        fwhm = math.exp(log_width) * np.sqrt((1 - share) + share * tan2)
        # Axial divergence: the low-angle half of a peak wider than the high-angle half by 2 A cot(2theta) of the
        # FWHM (reversed above 90 deg), the mean of the halves the FWHM, so the area stays.
        split = np.clip(asymmetry / np.tan(np.radians(centres)), -MAX_SPLIT, MAX_SPLIT)
        return self._render(centres, heights, fwhm, eta, split)

    def _render(
        self, centres: np.ndarray, heights: np.ndarray, fwhm: np.ndarray, eta: float, split: np.ndarray
    ) -> np.ndarray:
        out = np.zeros(len(self.two_theta))
        inside = (centres > self.two_theta[0] - 2) & (centres < self.two_theta[-1] + 2)
        centres, heights, fwhm, split = centres[inside], heights[inside], fwhm[inside], split[inside]
        if not len(centres):
            return out
        window = math.ceil(self.settings.window_fwhm * fwhm.max() / self.step)
        first = np.searchsorted(self.two_theta, centres) - window
        index = first[:, None] + np.arange(2 * window + 1)
        valid = (index >= 0) & (index < len(self.two_theta))
        index = np.clip(index, 0, len(self.two_theta) - 1)
        offset = self.two_theta[index] - centres[:, None]
        dx = offset / (fwhm[:, None] * (1 + np.where(offset < 0, split[:, None], -split[:, None])))
        gauss = math.sqrt(4 * math.log(2) / math.pi) * np.exp(-4 * math.log(2) * dx**2)
        lorentz = 2 / (math.pi * (1 + 4 * dx**2))
        profile = heights[:, None] * (eta * lorentz + (1 - eta) * gauss) / fwhm[:, None]
        return np.bincount(index[valid], weights=profile[valid], minlength=len(self.two_theta))

    def linear(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Background coefficients and non-negative phase scales minimising the impurity-tolerant cost
        (:func:`impurity_cost`): weighted least squares re-weighted ``settings.robust_iterations`` times, points
        above the model by more than ``settings.impurity_sigma`` getting the weight of the cost's log tail."""
        robust = np.ones(len(self.counts))
        for _ in range(self.settings.robust_iterations + 1):
            background, scales = self._weighted_linear(columns, self.sqrt_weights * np.sqrt(robust))
            robust = impurity_weights(self.normalised(columns, background, scales), self.settings.impurity_sigma)
        return background, scales

    def normalised(self, columns: np.ndarray, background: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Residuals in Poisson units, (counts - calculated) x sqrt(weight), for the background coefficients and
        phase scales given."""
        return (self.counts - (self.background_basis @ background + scales @ columns)) * self.sqrt_weights

    def robust_weights(self, columns: np.ndarray) -> np.ndarray:
        """The final re-weighting of :meth:`linear` for ``columns``: each point's weight in the cost's log tail."""
        return impurity_weights(self.normalised(columns, *self.linear(columns)), self.settings.impurity_sigma)

    def reweighted_cost(self, columns: np.ndarray, robust: np.ndarray) -> float:
        """The impurity-tolerant cost with background and scales from one weighted solve at the fixed ``robust``
        weights (those of a model with fewer phases, :meth:`robust_weights`): the cost of :meth:`linear` without
        its re-weighting, for ranking many candidates."""
        background, scales = self._weighted_linear(columns, self.sqrt_weights * np.sqrt(robust))
        return float(np.sum(impurity_cost(self.normalised(columns, background, scales), self.settings.impurity_sigma)))

    def _weighted_linear(self, columns: np.ndarray, sqrt_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted least squares with non-negative scales (normal equations on unit-norm columns; a phase whose
        scale comes out negative is set to zero and the rest re-solved)."""
        basis = self.background_basis * sqrt_weights[:, None]
        weighted = columns * sqrt_weights
        design = np.vstack([basis.T, weighted])
        gram = design @ design.T
        right = design @ (self.counts * sqrt_weights)
        norms = np.sqrt(np.maximum(np.diag(gram), 1e-300))
        gram, right = gram / np.outer(norms, norms), right / norms
        nb = self.background_basis.shape[1]
        free = np.ones(len(norms), dtype=bool)
        while True:
            solution = np.zeros(len(norms))
            solution[free] = np.linalg.lstsq(gram[np.ix_(free, free)], right[free], rcond=None)[0]
            negative = np.flatnonzero(solution[nb:] < 0)
            if not len(negative):
                break
            free[nb + negative[np.argmin(solution[nb:][negative])]] = False
        solution /= norms
        return solution[:nb], solution[nb:]

    def residual(self, params: np.ndarray) -> np.ndarray:
        """Signed square roots of the per-point impurity-tolerant cost (their squares sum to the cost)."""
        return self.cost_residual(self.columns(params))

    def cost_residual(self, columns: np.ndarray) -> np.ndarray:
        """:meth:`residual` for given phase columns (scales and background solved)."""
        return self.signed_cost(columns, *self.linear(columns))

    def signed_cost(self, columns: np.ndarray, background: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Signed square roots of the per-point cost for the background coefficients and phase scales given."""
        normalised = self.normalised(columns, background, scales)
        return np.sign(normalised) * np.sqrt(impurity_cost(normalised, self.settings.impurity_sigma))

    def lattice_parameters(self, k: int, params: np.ndarray) -> np.ndarray:
        _, _, per_phase = self._unpack(params)
        lattice = self._cell(k, per_phase[k][0])
        lengths = np.linalg.norm(lattice, axis=1)
        angles = [
            math.degrees(math.acos(lattice[i] @ lattice[j] / (lengths[i] * lengths[j])))
            for i, j in [(1, 2), (0, 2), (0, 1)]
        ]
        return np.r_[lengths, angles]

    def cell_volume(self, k: int, params: np.ndarray) -> float:
        _, _, per_phase = self._unpack(params)
        return float(abs(np.linalg.det(self._cell(k, per_phase[k][0]))))


def _degenerate_groups(refl: Reflections) -> tuple[np.ndarray, np.ndarray]:
    """Points with the same spacing in the library cell (symmetry equivalents, which a symmetry-respecting strain
    keeps together): the first point of each group and every point's group, so each peak is rendered once."""
    s2 = squared_spacings(refl.hkl, refl.reciprocal)
    _, first, group = np.unique(np.round(s2 / s2.max() * 1e9).astype(np.int64), return_index=True, return_inverse=True)
    return first, group


def refine(model: PatternModel, start: np.ndarray | None, max_nfev: int) -> tuple[np.ndarray, float]:
    """Least-squares refinement of the non-linear parameters from ``start`` (defaults if None), at most
    ``max_nfev`` evaluations; returns them and the weighted chi^2."""
    initial, lower, upper = model.initial()
    x0 = initial if start is None else np.clip(start, lower + 1e-12, upper - 1e-12)
    result = optimize.least_squares(
        model.residual, x0, bounds=(lower, upper), x_scale="jac", max_nfev=max_nfev, diff_step=1e-4
    )
    return result.x, float(result.fun @ result.fun)


def _extended(model: PatternModel, previous: np.ndarray | None, strain: float) -> np.ndarray:
    """Start of ``model``: the refined parameters ``previous`` of its earlier phases, defaults for the last one
    at the uniform ``strain``."""
    initial, _, _ = model.initial()
    if previous is not None:
        initial[: len(previous)] = previous
    k = len(model.phases) - 1
    position = model.offset(k)
    initial[position : position + len(model.bases[k])] = 2 * strain * _isotropic(model, k)
    return initial


def _orient(model: PatternModel, params: np.ndarray, k: int) -> np.ndarray:
    """Sets phase ``k``'s preferred direction to the one of its ``texture_directions`` whose March-Dollase factor,
    at r a quarter, half or all the way (in log) to either bound of ``texture_ratio_range``, lowers the cost at
    ``params`` most, and returns ``params`` with that r; r stays at 1 where no direction helps (a linear solve per
    trial)."""
    if not model.textured[k]:
        return params
    position = model.offset(k) + len(model.bases[k]) + 3
    trial = params.copy()
    trial[position] = 0.0
    residual = model.cost_residual(model.columns(trial))
    best = (float(residual @ residual), model.directions[k], 0.0)
    for direction in range(len(model.phases[k].texture_directions)):
        model.directions[k] = direction
        for bound, share in itertools.product(model.settings.texture_ratio_range, (0.25, 0.5, 1.0)):
            trial[position] = share * math.log(bound)
            residual = model.cost_residual(model.columns(trial))
            best = min(best, (float(residual @ residual), direction, trial[position]))
    model.directions[k] = best[1]
    trial[position] = best[2]
    return trial


def impurity_cost(normalised: np.ndarray, cutoff: float) -> np.ndarray:
    """Per-point cost of residuals (observed - calculated) / sigma: the square up to ``cutoff``; above the model
    beyond it, where a phase outside the model adds intensity, growing as the logarithm (the tail of
    W. I. F. David's robust Rietveld likelihood, J. Appl. Cryst. 37, 621, 2004), continuous in value and slope.
    Residuals below the model (intensity the model puts where none is measured) keep the square."""
    above = normalised > cutoff
    cost = normalised**2
    cost[above] = cutoff**2 * (1 + 2 * np.log(normalised[above] / cutoff))
    return cost


def impurity_weights(normalised: np.ndarray, cutoff: float) -> np.ndarray:
    """Iteratively re-weighted least-squares weights of :func:`impurity_cost` (psi(r) / r)."""
    weights = np.ones(len(normalised))
    above = normalised > cutoff
    weights[above] = (cutoff / normalised[above]) ** 2
    return weights


def robust_variance(residual: np.ndarray) -> float:
    """Variance of weighted residuals from the median square of those below the model (chi^2 with 1 degree of
    freedom has median 0.455): the noise level, unmoved by the peaks of phases the model lacks, which only ever
    put the measurement above the model."""
    below = residual[residual < 0]
    return float(np.median((below if len(below) else residual) ** 2) / 0.4549)


def binned(two_theta: np.ndarray, counts: np.ndarray, min_step: float) -> tuple[np.ndarray, np.ndarray]:
    """Counts summed over runs of adjacent points so that the step is at least ``min_step`` (Poisson kept)."""
    factor = max(1, int(min_step / float(np.median(np.diff(two_theta)))))
    size = len(counts) // factor * factor
    return two_theta[:size].reshape(-1, factor).mean(axis=1), counts[:size].reshape(-1, factor).sum(axis=1)


def fit_pattern(
    two_theta: np.ndarray,
    counts: np.ndarray,
    library: Sequence[FitPhase],
    radiation: Radiation,
    settings: FitSettings,
    candidates: Sequence[int] | None = None,
    confidence: Callable[[PhaseResult], float] | None = None,
    propose: Callable[[np.ndarray, np.ndarray], Sequence[int]] | None = None,
) -> FitResult:
    """Phases of ``library`` (restricted to ``candidates`` if given) added one at a time, on the pattern binned to
    ``settings.bin_step``, while the F statistic of the best candidate's parameters (the fall of the cost per
    added parameter over the noise variance, :func:`robust_variance`, of the larger model) exceeds
    ``settings.min_evidence``; each chosen phase refined to convergence before the next is weighed.

    With ``propose`` (two-theta and the counts the chosen phases leave unexplained -> library indices), the phases
    it proposes for that remainder join the candidates before each further step: a classifier ranks a mixture as
    its major phase, and a minor phase only once the major one is taken away.

    Then phases whose weight fraction is below ``settings.min_significance`` standard deviations are dropped one at
    a time (the rest refitted), and, with a ``confidence`` (a phase's calibrated P(present),
    :mod:`fingerprintml.xrd.confidence`), those below ``settings.min_confidence`` likewise; they are kept in
    :attr:`FitResult.dropped`. The result has the weight fractions with their uncertainties and the unexplained
    peaks of the final fit."""
    pool = list(range(len(library))) if candidates is None else list(candidates)
    two_theta, counts = binned(two_theta, counts, settings.bin_step)
    chosen: list[int] = []
    directions: list[int] = []  # each chosen phase's preferred direction (PatternModel.directions)
    params: np.ndarray | None = None
    background_only = PatternModel([], two_theta, counts, radiation, settings)
    cost = background_only.residual(background_only.initial()[0]) ** 2  # per point, of the chosen phases' fit
    evidence: list[float] = []
    screen_columns: dict[tuple[int, float], np.ndarray] = {}  # each candidate's screening pattern per strain
    while len(chosen) < settings.max_phases:
        if propose is not None and chosen:
            model = PatternModel([library[c] for c in chosen], two_theta, counts, radiation, settings, directions)
            columns = model.columns(params)
            pool += [c for c in propose(two_theta, counts - model.linear(columns)[1] @ columns) if c not in pool]
        if len(chosen) >= len(pool):
            break
        best = None
        screened = _screen(
            chosen, directions, pool, library, two_theta, counts, radiation, settings, params, screen_columns
        )
        for candidate, strain in screened:
            # A candidate is weighed without texture or B: a free March-Dollase r would let a wrong phase bend its
            # few reflections onto the misfit of the true ones (the decoys that got in with texture had r at a
            # bound).
            model = PatternModel(
                [library[c] for c in [*chosen, candidate]],
                two_theta,
                counts,
                radiation,
                settings,
                [*directions, 0],
                [True] * len(chosen) + [False],
            )
            trial, _ = refine(model, _extended(model, params, strain), settings.selection_evaluations)
            added = model.size(len(chosen)) + 1  # metric, profile and the scale
            columns = model.columns(trial)
            background, scales = model.linear(columns)
            trial_cost = model.signed_cost(columns, background, scales)
            variance = robust_variance(trial_cost)
            fall = cost - trial_cost**2
            gain = fall.sum() / added / variance
            # The candidate's own points: where it contributes more than the chosen phases together.
            contributions = scales[:, None] * columns
            own = fall[contributions[-1] > contributions[:-1].sum(axis=0)].sum() / added / variance
            log.debug("step %d: %s F %.1f, on its own points %.1f", len(chosen), library[candidate].name, gain, own)
            if own >= settings.min_own_evidence and (best is None or gain > best[0]):
                best = (gain, candidate, trial)
        if best is None or best[0] < settings.min_evidence:
            break
        gain, candidate, params = best
        chosen.append(candidate)
        directions.append(0)
        evidence.append(gain)
        # Texture and B of the accepted phase, then converged before the next candidate is weighed, so that no
        # candidate's F is the chosen ones' refinement.
        model = PatternModel([library[c] for c in chosen], two_theta, counts, radiation, settings, directions)
        params = _orient(model, np.r_[params, model.settled_defaults(len(chosen) - 1)], len(chosen) - 1)
        directions[-1] = model.directions[-1]
        params, _ = refine(model, params, settings.final_evaluations)
        cost = model.residual(params) ** 2
    dropped: list[tuple[PhaseResult, np.ndarray]] = []
    while True:
        model = PatternModel([library[c] for c in chosen], two_theta, counts, radiation, settings, directions)
        result = _finish(model, chosen, params, evidence, settings)
        result.dropped = dropped
        if not chosen:
            return result
        significance = [p.weight_fraction / max(p.weight_fraction_sd, 1e-12) for p in result.phases]
        if confidence is not None:
            for phase in result.phases:
                phase.confidence = confidence(phase)
        if min(significance) < settings.min_significance:
            weakest = int(np.argmin(significance))
        elif confidence is not None and min(p.confidence for p in result.phases) < settings.min_confidence:
            weakest = int(np.argmin([p.confidence for p in result.phases]))
        else:
            return result
        phase = result.phases[weakest]
        log.debug(
            "%s dropped: weight fraction %.4f +- %.4f, confidence %.2f",
            phase.name,
            phase.weight_fraction,
            phase.weight_fraction_sd,
            phase.confidence,
        )
        dropped.append((phase, result.components[weakest]))
        params = _without(model, params, weakest)
        del chosen[weakest], evidence[weakest], directions[weakest]
        if chosen:
            model = PatternModel([library[c] for c in chosen], two_theta, counts, radiation, settings, directions)
            params, _ = refine(model, params, settings.final_evaluations)


def _without(model: PatternModel, params: np.ndarray, k: int) -> np.ndarray | None:
    """``params`` of ``model`` without the parameters of its phase ``k`` (None when no phase is left)."""
    if len(model.phases) == 1:
        return None
    start = model.offset(k)
    return np.r_[params[:start], params[start + model.size(k) :]]


def _screen(
    chosen: list[int],
    directions: list[int],
    pool: list[int],
    library: Sequence[FitPhase],
    two_theta: np.ndarray,
    counts: np.ndarray,
    radiation: Radiation,
    settings: FitSettings,
    params: np.ndarray | None,
    columns_cache: dict[tuple[int, float], np.ndarray],
) -> list[tuple[int, float]]:
    """The ``settings.screen`` candidates (with their best uniform strain) that lower chi^2 most when added at a
    few uniform strains within the window and a default width to the chosen phases at their refined parameters,
    by one weighted linear solve each at the chosen phases' robust weights (library cells are often a fraction of
    a per cent off). A candidate's pattern at a strain depends on neither, so ``columns_cache`` keeps it for the
    next step."""
    model = PatternModel([library[c] for c in chosen], two_theta, counts, radiation, settings, directions)
    fixed = model.columns(params) if chosen else np.empty((0, len(counts)))
    robust = model.robust_weights(fixed)
    trials = []
    for candidate in (c for c in pool if c not in chosen):
        for strain in np.linspace(-1, 1, 2 * settings.screen_strains + 1) * settings.strain_window:
            if (candidate, strain) not in columns_cache:
                single = PatternModel([library[candidate]], two_theta, counts, radiation, settings)
                columns_cache[candidate, strain] = single.columns(_extended(single, None, strain))[0]
            columns = np.vstack([fixed, columns_cache[candidate, strain]])
            trials.append((model.reweighted_cost(columns, robust), candidate, float(strain)))
    shortlist: list[tuple[int, float]] = []
    for _, candidate, strain in sorted(trials):
        if candidate not in [c for c, _ in shortlist]:
            shortlist.append((candidate, strain))
    return shortlist[: settings.screen]


def _isotropic(model: PatternModel, k: int) -> np.ndarray:
    """Metric coordinates of a uniform relative change of the metric (2 x a uniform strain), per unit."""
    metric0 = model.metrics0[k]
    size = np.trace(metric0) / 3
    return np.tensordot(model.bases[k], metric0, axes=([1, 2], [0, 1])) / size


def _finish(
    model: PatternModel, chosen: list[int], params: np.ndarray | None, evidence: list[float], settings: FitSettings
) -> FitResult:
    if params is None:
        params = model.initial()[0]
    columns = model.columns(params)
    background_coefficients, scales = model.linear(columns)
    background = model.background_basis @ background_coefficients
    components = scales[:, None] * columns
    calculated = background + components.sum(axis=0)
    counts = model.counts
    rwp = float(np.sqrt(np.sum(model.weights * (counts - calculated) ** 2) / np.sum(model.weights * counts**2)))
    _, _, per_phase = model._unpack(params)
    phases = [
        PhaseResult(
            index=index,
            name=model.phases[k].name,
            scale=float(scales[k]),
            lattice=model.lattice_parameters(k, params),
            fwhm=math.exp(per_phase[k][1]),
            texture_direction=_texture_direction(model, k),
            texture_ratio=math.exp(per_phase[k][4]),
            b_factor=float(per_phase[k][5]),
            evidence=evidence[k],
        )
        for k, index in enumerate(chosen)
    ]
    if chosen:
        _weight_fractions(model, params, scales, background_coefficients, phases)
    return FitResult(
        phases=phases,
        zero_shift=float(params[0]),
        asymmetry=float(params[1]),
        rwp=rwp,
        two_theta=model.two_theta,
        observed=counts,
        background=background,
        components=components,
        unexplained=unexplained_peaks(model.two_theta, counts, calculated, background, settings),
    )


def _texture_direction(model: PatternModel, k: int) -> tuple[int, int, int] | None:
    """Phase ``k``'s preferred direction as integer indices, None when the fit has no texture."""
    if not model.textured[k]:
        return None
    return tuple(int(v) for v in model.phases[k].texture_directions[model.directions[k]])


def _weight_fractions(
    model: PatternModel,
    params: np.ndarray,
    scales: np.ndarray,
    background: np.ndarray,
    phases: list[PhaseResult],
) -> None:
    """Hill-Howard weight fractions and their standard deviations from the covariance of all parameters (scales,
    background and the non-linear ones, Jacobian by central differences, scaled by the reduced chi^2)."""
    columns = model.columns(params)
    jacobian = [model.background_basis, columns.T * 1.0]
    for j in range(len(params)):
        step = 1e-5 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        jacobian.append(((scales @ model.columns(up)) - (scales @ model.columns(down)))[:, None] / (2 * step))
    normalised = model.normalised(columns, background, scales)
    robust = impurity_weights(normalised, model.settings.impurity_sigma)
    design = np.column_stack(jacobian) * (model.sqrt_weights * np.sqrt(robust))[:, None]
    chi2 = float(np.sum(impurity_cost(normalised, model.settings.impurity_sigma)))
    dof = max(len(model.counts) - design.shape[1], 1)
    covariance = np.linalg.pinv(design.T @ design) * chi2 / dof
    nb = model.background_basis.shape[1]
    scale_cov = covariance[nb : nb + len(scales), nb : nb + len(scales)]
    zmv = np.array([model.phases[k].cell_mass * model.cell_volume(k, params) for k in range(len(scales))])
    mass = scales * zmv
    total = mass.sum()
    fractions = mass / total if total > 0 else np.full(len(scales), np.nan)
    for k, phase in enumerate(phases):
        # d W_k / d S_i = zmv_i (delta_ki - W_k) / total
        gradient = zmv * ((np.arange(len(scales)) == k) - fractions[k]) / total
        phase.weight_fraction = float(fractions[k])
        phase.weight_fraction_sd = float(math.sqrt(max(gradient @ scale_cov @ gradient, 0.0)))


def unexplained_peaks(
    two_theta: np.ndarray,
    counts: np.ndarray,
    calculated: np.ndarray,
    background: np.ndarray,
    settings: FitSettings,
) -> list[tuple[float, float]]:
    """Peaks of the residual above ``settings.noise_sigma`` Poisson standard deviations, strongest first, as
    (2theta, height in % of the strongest observed peak above the background)."""
    sigma = np.sqrt(np.maximum(calculated, 1.0))
    significance = (counts - calculated) / sigma
    # Smooth over about a peak width so that single noisy points do not count.
    kernel = np.ones(3) / 3
    smoothed = np.convolve(significance, kernel, mode="same") * math.sqrt(3)
    spacing = max(1, int(0.2 / float(np.median(np.diff(two_theta)))))
    found, _ = signal.find_peaks(smoothed, height=settings.noise_sigma, distance=spacing)
    strongest = float(np.max(counts - background))
    heights = (counts - calculated)[found]
    order = np.argsort(-heights)[: settings.unexplained_peaks]
    return [(float(two_theta[found[i]]), float(100 * heights[i] / strongest)) for i in order]
