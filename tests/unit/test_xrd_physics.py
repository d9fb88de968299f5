"""Reflection cache against pymatgen, anomalous dispersion, and the physics of the augmentations (strain, size,
K-alpha2, Debye-Waller)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import xraydb
import yaml
from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS, XRDCalculator
from pymatgen.core import Element, Lattice, Structure
from scipy import stats

from fingerprintml.xrd.augment import (
    ORIENTATION_AXES,
    add_background_and_noise,
    augmented_set,
    augmented_sticks,
    counting_noise,
    render_profiles,
)
from fingerprintml.xrd.library import from_spacegroup, pymatgen_shipped
from fingerprintml.xrd.patterns import Grid, deposit_sticks
from fingerprintml.xrd.reflections import (
    anomalous_dispersion,
    compute_reflections,
    pymatgen_sticks,
    scattering_factors,
    squared_spacings,
    stick_intensities,
    wavelength_of,
)

CU = wavelength_of("CuKa")
CU1 = 1.540562  # Cu K-alpha1, angstrom
REPO = Path(__file__).resolve().parents[2]
OFF = {
    "debye_waller": {"enabled": False, "b_max": 0.0},
    "strain": {"enabled": False, "max": 0.0},
    "crystallite_size": {"enabled": False, "min_nm": 50, "max_nm": 50, "shape_factor": 0.9},
    "profile": {"pseudo_voigt": False, "eta_min": 0.0, "eta_max": 0.0, "instrument_fwhm": [0.05, 0.05]},
    "kalpha2": {"enabled": False, "wavelength": 1.54439, "ratio": 0.5},
    "preferred_orientation": {"enabled": False, "r_min": 1.0},
    "peak_scaling": {"enabled": False, "sigma": 0.0, "drop_fraction": 0.0},
    "zero_shift": {"enabled": False, "max": 0.0},
    "background": {"enabled": False, "max_fraction": 0.0},
    "noise": {"enabled": False, "min_counts": 1, "max_counts": 1},
}


@pytest.fixture(scope="module")
def structures() -> dict[str, Structure]:
    shipped = dict(pymatgen_shipped())
    nacl = from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return {"NaCl": nacl, "LiFePO4": shipped["LiFePO4"], "Li3V2(PO4)3": shipped["Li3V2(PO4)3"], "TiO2": shipped["TiO2"]}


@pytest.mark.parametrize("name", ["NaCl", "LiFePO4", "Li3V2(PO4)3", "TiO2"])
def test_cached_pattern_equals_pymatgen(structures, name: str) -> None:
    structure = structures[name]
    expected = XRDCalculator(CU).get_pattern(structure, two_theta_range=(0, 120))
    sticks = pymatgen_sticks(compute_reflections(structure, CU, 120, dispersion=False), CU, (0, 120))
    assert len(sticks) == len(expected.x)
    np.testing.assert_allclose(sticks[:, 0], expected.x, atol=1e-6)
    np.testing.assert_allclose(sticks[:, 1], expected.y, atol=1e-6)
    grid = Grid(0, 120, 0.02)
    np.testing.assert_allclose(
        deposit_sticks(grid, sticks[:, 0], sticks[:, 1]), deposit_sticks(grid, expected.x, expected.y), atol=1e-6
    )


def test_rocksalt_extinctions_and_first_peak(structures) -> None:
    sticks = pymatgen_sticks(compute_reflections(structures["NaCl"], CU, 60, dispersion=False), CU, (0, 60))
    d_111 = 5.64 / math.sqrt(3)
    assert sticks[0, 0] == pytest.approx(math.degrees(2 * math.asin(CU / (2 * d_111))), abs=1e-9)
    assert not np.any(np.isclose(sticks[:, 0], math.degrees(2 * math.asin(CU / (2 * 5.64))), atol=0.01))  # (100)


# International Tables for Crystallography Vol. C (2006), Table 4.2.6.8 (Creagh & McAuley; Cromer-Liberman
# relativistic calculation, an independent compilation of Chantler's): f', f'' at Cu K-alpha1.
INTERNATIONAL_TABLES_CU = {"Ni": (-3.003, 0.509), "Fe": (-1.179, 3.204), "Zn": (-1.612, 0.678), "Cu": (-2.019, 0.589)}


def test_anomalous_dispersion_matches_the_international_tables() -> None:
    symbols = list(INTERNATIONAL_TABLES_CU)
    real, imag = anomalous_dispersion(symbols, CU1)
    expected = np.array([INTERNATIONAL_TABLES_CU[s] for s in symbols])
    np.testing.assert_allclose(real, expected[:, 0], atol=0.1)
    np.testing.assert_allclose(imag, expected[:, 1], atol=0.1)
    with pytest.raises(ValueError, match="Pu"):
        anomalous_dispersion(["Pu"], CU1)


def _scattering_factor(symbol: str, s2: float, wavelength: float, dispersion: bool) -> complex:
    """f0 (pymatgen's coefficients, its formula) + f' + i f'' (xraydb) of one element at s^2 = (sin theta/lambda)^2."""
    a, b = np.asarray(ATOMIC_SCATTERING_PARAMS[symbol], dtype=float).T
    f0 = Element(symbol).Z - 41.78214 * s2 * float((a * np.exp(-b * s2)).sum())
    if not dispersion:
        return complex(f0)
    energy = 12398.419843320026 / wavelength
    return complex(f0 + xraydb.f1_chantler(symbol, energy), xraydb.f2_chantler(symbol, energy))


def _family_sums(two_theta: np.ndarray, intensity: np.ndarray, at: float) -> float:
    return float(intensity[np.isclose(two_theta, at, atol=1e-6)].sum())


def test_rocksalt_nio_intensities_equal_the_hand_formula() -> None:
    a = 4.177
    nio = Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Ni", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    ratios = {}
    for dispersion in (False, True):
        refl = compute_reflections(nio, CU1, 60, dispersion=dispersion)
        two_theta, intensity = stick_intensities(refl, CU1)
        computed = []
        for hkl, multiplicity, sign in (((1, 1, 1), 8, -1), ((2, 0, 0), 6, 1)):
            d = a / math.sqrt(sum(i * i for i in hkl))
            s2 = 1 / (4 * d * d)
            sin2 = CU1 * CU1 * s2
            lorentz = (1 + (1 - 2 * sin2) ** 2) / (sin2 * math.sqrt(1 - sin2))
            # F = 4 (f_Ni + sign f_O): O at (1/2 1/2 1/2) has phase exp(i pi (h + k + l))
            structure_factor = 4 * (
                _scattering_factor("Ni", s2, CU1, dispersion) + sign * _scattering_factor("O", s2, CU1, dispersion)
            )
            expected = multiplicity * abs(structure_factor) ** 2 * lorentz
            computed.append(_family_sums(two_theta, intensity, math.degrees(2 * math.asin(math.sqrt(sin2)))))
            assert computed[-1] == pytest.approx(expected, rel=1e-10)
        ratios[dispersion] = computed[0] / computed[1]
    # Ni's f' ~ -3 at Cu K-alpha lowers f_Ni - f_O relatively more than f_Ni + f_O: (111)/(200) 0.76 -> 0.64
    assert ratios[True] < ratios[False] - 0.1


def test_friedel_pairs_of_zincblende_sum_both_members_under_f_double_prime() -> None:
    a = 5.41
    zns = Structure.from_spacegroup("F-43m", Lattice.cubic(a), ["Zn", "S"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    refl = compute_reflections(zns, CU1, 80)
    two_theta, intensity = stick_intensities(refl, CU1)
    assert len(refl.hkl) > 0 and np.all(refl.dispersion_imag > 0.5)
    # every point h of the box, -h included, with F(h) = sum over the sites of (f0 + f' + i f'') exp(2 pi i h.r)
    box = np.array(
        [(h, k, m) for h in range(-6, 7) for k in range(-6, 7) for m in range(-6, 7) if (h, k, m) != (0, 0, 0)]
    )
    n2 = (box**2).sum(axis=1)
    sin2 = CU1**2 * n2 / (4 * a * a)
    inside = sin2 < math.sin(math.radians(40)) ** 2  # two-theta below 80 deg, as cached
    box, n2, sin2 = box[inside], n2[inside], sin2[inside]
    squared = np.empty(len(box))
    for i, (hkl, shell) in enumerate(zip(box, n2, strict=True)):
        s2 = shell / (4 * a * a)
        f = {s: _scattering_factor(s, s2, CU1, dispersion=True) for s in ("Zn", "S")}
        amplitude = sum(f[site.specie.symbol] * np.exp(2j * math.pi * hkl @ site.frac_coords) for site in zns)
        squared[i] = abs(amplitude) ** 2
    lorentz = (1 + (1 - 2 * sin2) ** 2) / (sin2 * np.sqrt(1 - sin2))
    for shell in np.unique(n2):
        in_shell = n2 == shell
        expected = (squared[in_shell] * lorentz[in_shell]).sum()
        at = math.degrees(2 * math.asin(math.sqrt(sin2[in_shell][0])))
        assert _family_sums(two_theta, intensity, at) == pytest.approx(expected, rel=1e-10)
    # Friedel's law fails for the single reflections (Bijvoet pairs): 2 |F(h)|^2 of the half-space point alone
    # would be wrong by that difference, which the pair sum cancels
    index = {tuple(h): i for i, h in enumerate(box)}
    plus, minus = squared[index[(1, 1, 1)]], squared[index[(-1, -1, -1)]]
    assert abs(plus - minus) > 0.02 * (plus + minus) / 2


def test_tensile_strain_moves_peaks_to_lower_angles(structures) -> None:
    refl = compute_reflections(structures["LiFePO4"], CU, 90)
    two_theta, _ = stick_intensities(refl, CU)
    for strain in (0.01, -0.01):
        stretched = np.linalg.inv(refl.lattice * (1 + strain)).T
        strained_two_theta, _ = stick_intensities(refl, CU, stretched)
        finite = np.isfinite(two_theta) & np.isfinite(strained_two_theta)
        shift = strained_two_theta[finite] - two_theta[finite]
        assert np.all(np.sign(shift) == -np.sign(strain))
        # Bragg: d scales with (1 + strain), so sin(theta) scales with 1 / (1 + strain)
        np.testing.assert_allclose(
            np.sin(np.radians(strained_two_theta[finite] / 2)) * (1 + strain),
            np.sin(np.radians(two_theta[finite] / 2)),
            rtol=1e-12,
        )


def _fwhm(grid: Grid, pattern: np.ndarray) -> float:
    above = grid.two_theta[pattern >= pattern.max() / 2]
    return float(above.max() - above.min())


def test_smaller_crystallites_broaden_peaks_as_scherrer_says(structures) -> None:
    refl = compute_reflections(structures["NaCl"], CU, 40)
    grid = Grid(26, 30, 0.004)  # the (111) peak alone
    widths = {}
    for size_nm in (10, 100):
        settings = copy.deepcopy(OFF)
        settings["crystallite_size"] = {"enabled": True, "min_nm": size_nm, "max_nm": size_nm, "shape_factor": 0.9}
        settings["profile"]["instrument_fwhm"] = [1e-4, 1e-4]
        two_theta, intensity, fwhm = (
            row[0] for row in augmented_sticks(refl, CU, settings, np.random.default_rng(0), 1)
        )
        widths[size_nm] = _fwhm(grid, render_profiles(grid, two_theta, intensity, fwhm, 0.0))
    theta = math.asin(CU * math.sqrt(3) / (2 * 5.64))
    assert widths[10] == pytest.approx(math.degrees(0.9 * CU / (100 * math.cos(theta))), rel=0.02)
    assert widths[10] > 5 * widths[100]


def test_kalpha2_adds_a_half_height_peak_at_higher_angle(structures) -> None:
    refl = compute_reflections(structures["NaCl"], 1.54056, 40)
    settings = copy.deepcopy(OFF)
    settings["kalpha2"]["enabled"] = True
    two_theta, intensity, _ = (row[0] for row in augmented_sticks(refl, 1.54056, settings, np.random.default_rng(0), 1))
    d_111 = 5.64 / math.sqrt(3)
    alpha1, alpha2 = (math.degrees(2 * math.asin(w / (2 * d_111))) for w in (1.54056, 1.54439))
    assert alpha2 - alpha1 == pytest.approx(0.07, abs=0.01)
    at_alpha1 = intensity[np.isclose(two_theta, alpha1, atol=1e-9)].sum()
    at_alpha2 = intensity[np.isclose(two_theta, alpha2, atol=1e-9)].sum()
    assert at_alpha1 > 0 and at_alpha2 / at_alpha1 == pytest.approx(0.5)


def test_debye_waller_damps_high_angle_peaks_more(structures) -> None:
    refl = compute_reflections(structures["NaCl"], CU, 120)
    two_theta, plain = stick_intensities(refl, CU)
    _, damped = stick_intensities(refl, CU, b_factors=np.array([2.0, 2.0]))
    ratio = damped / np.where(plain > 0, plain, 1)
    strong = plain > plain.max() * 1e-3
    order = np.argsort(two_theta[strong])
    assert np.all(np.diff(ratio[strong][order]) <= 1e-12)
    s2 = (np.sin(np.radians(two_theta[strong] / 2)) / CU) ** 2
    np.testing.assert_allclose(ratio[strong], np.exp(-2 * 2.0 * s2), rtol=1e-6)  # B acts on amplitudes


def test_batched_sticks_and_profiles_equal_one_copy_at_a_time(structures) -> None:
    refl = compute_reflections(structures["LiFePO4"], CU, 90)
    rng = np.random.default_rng(3)
    strains = rng.uniform(-0.005, 0.005, (4, 3, 3))
    reciprocals = np.linalg.inv(refl.lattice @ (np.eye(3) + (strains + strains.transpose(0, 2, 1)) / 2))
    reciprocals = reciprocals.transpose(0, 2, 1)
    b_factors = rng.uniform(0, 2, (4, len(refl.symbols)))
    two_theta, intensity = stick_intensities(refl, CU, reciprocals, b_factors)
    grid = Grid(10, 90, 0.02)
    fwhm = rng.uniform(0.05, 0.3, two_theta.shape)
    eta = rng.uniform(0, 1, 4)
    finite = np.isfinite(two_theta)
    batch = render_profiles(grid, np.where(finite, two_theta, 0.0), intensity, fwhm, eta)
    for copy_index in range(4):
        one_theta, one_intensity = stick_intensities(refl, CU, reciprocals[copy_index], b_factors[copy_index])
        np.testing.assert_allclose(one_theta, two_theta[copy_index], rtol=1e-12)
        np.testing.assert_allclose(one_intensity, intensity[copy_index], rtol=1e-12)
        keep = finite[copy_index]
        one = render_profiles(grid, one_theta[keep], one_intensity[keep], fwhm[copy_index][keep], eta[copy_index])
        # The FFT length follows the batch's widest profile, so Lorentzian tails wrap at another period (edges).
        np.testing.assert_allclose(batch[copy_index], one, atol=5e-4 * one.max())


def test_preferred_orientation_follows_march_dollase(structures) -> None:
    refl = compute_reflections(structures["TiO2"], CU, 90).allowed
    settings = copy.deepcopy(OFF)
    settings["preferred_orientation"] = {"enabled": True, "r_min": 0.7}
    two_theta, oriented, _ = augmented_sticks(refl, CU, settings, np.random.default_rng(5), 4)
    _, plain = stick_intensities(refl, CU)
    g = refl.hkl @ refl.reciprocal
    matched = 0
    for ratio in np.where(oriented > 0, oriented, np.nan) / plain:  # sticks below the render floor are dropped
        # the copy's axis is one of ORIENTATION_AXES and its r lies in [0.7, 1]: find them from the (001)-type ratio
        for axis in ORIENTATION_AXES @ refl.reciprocal:
            cos2 = (g @ axis) ** 2 / ((g * g).sum(axis=1) * (axis @ axis))
            parallel = np.isclose(cos2, 1)
            if not parallel.any():
                continue
            r = ratio[parallel][0] ** (-1 / 3)
            rendered = np.isfinite(ratio)
            march_dollase = (r**2 * cos2 + (1 - cos2) / r) ** -1.5
            if 0.7 <= r <= 1 and np.allclose(ratio[rendered], march_dollase[rendered], rtol=1e-5):
                matched += 1
                break
    assert matched == 4
    assert np.isfinite(two_theta[oriented > 0]).all()


def test_strained_scattering_factors_match_the_exact_ones_to_first_order(structures) -> None:
    refl = compute_reflections(structures["LiFePO4"], CU, 120, dispersion=False)
    stretched = np.linalg.inv(refl.lattice * 1.01).T  # 1 % strain
    _, intensity = stick_intensities(refl, CU, stretched)
    s2 = squared_spacings(refl.hkl, stretched) / 4
    exact, _ = scattering_factors(refl, s2)
    amplitude = (exact * refl.phase_sums).sum(axis=1)
    sin2 = CU**2 * s2
    valid = sin2 < 1
    lorentz = (1 + (1 - 2 * sin2[valid]) ** 2) / (sin2[valid] * np.sqrt(1 - sin2[valid]))
    expected = 2 * np.abs(amplitude[valid]) ** 2 * lorentz
    error = np.abs(intensity[valid] - expected)
    assert error.max() < 1e-4 * expected.max()
    strong = expected > 1e-3 * expected.max()
    assert (error[strong] / expected[strong]).max() < 2e-3


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_rendered_profiles_equal_the_direct_pseudo_voigt_sum(structures, eta: float) -> None:
    refl = compute_reflections(structures["LiFePO4"], CU, 120)
    two_theta, intensity = stick_intensities(refl, CU)
    keep = np.isfinite(two_theta) & (intensity > 1e-5 * intensity.max())
    two_theta, intensity = two_theta[keep], intensity[keep]
    grid = Grid(0, 120, 0.02)
    width = 0.3  # one width for all sticks: the per-band width is then exact
    offset = grid.two_theta[:, None] - two_theta[None, :]
    gauss = math.sqrt(4 * math.log(2) / math.pi) / width * np.exp(-4 * math.log(2) * offset**2 / width**2)
    lorentz = width / (2 * math.pi) / (offset**2 + width**2 / 4)
    direct = ((1 - eta) * gauss + eta * lorentz) @ intensity * grid.step
    rendered = render_profiles(grid, two_theta, intensity, np.full_like(two_theta, width), eta)
    assert np.abs(rendered - direct).max() < 0.005 * direct.max()


@pytest.mark.parametrize("expected", [0.3, 4.0, 12.0, 60.0, 900.0])
def test_counting_noise_is_poisson_distributed(expected: float) -> None:
    rng = np.random.default_rng(2)
    counts = counting_noise(np.full(400_000, expected, dtype=np.float32), rng)
    assert np.all(counts == np.round(counts)) and counts.min() >= 0
    assert counts.mean() == pytest.approx(expected, rel=0.01, abs=0.005)
    assert counts.var() == pytest.approx(expected, rel=0.02, abs=0.01)
    k = np.arange(int(expected + 10 * math.sqrt(expected) + 10))
    pmf = stats.poisson.pmf(k, expected)

    def distance(sample: np.ndarray) -> float:  # total variation from the Poisson law
        return 0.5 * np.abs(np.bincount(sample.astype(np.int64), minlength=len(k))[: len(k)] / len(sample) - pmf).sum()

    # as close to the Poisson law as an exact Poisson sample of the same size is
    assert distance(counts) < 1.5 * distance(rng.poisson(expected, len(counts))) + 0.002


def test_augmented_set_does_not_depend_on_the_thread_count(structures) -> None:
    library = [compute_reflections(structures[name], CU, 90) for name in ("NaCl", "LiFePO4", "TiO2")]
    settings = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]["augmentation"]
    labels = np.repeat(np.arange(3), 20)  # more copies than one batch
    grid = Grid(10, 90, 0.05)
    one, two = (
        augmented_set(
            library, labels, grid, CU, settings, np.random.default_rng(4), mixture_fraction=0.3, threads=threads
        )
        for threads in (1, 2)
    )
    np.testing.assert_array_equal(one, two)
    assert len(np.unique(one.round(4), axis=0)) == len(labels)  # every copy its own draw


def test_background_is_a_sloping_line_plus_a_gaussian_hump() -> None:
    grid = Grid(0, 120, 0.02)
    peaks = np.zeros((3, grid.size), dtype=np.float32)
    peaks[:, 3000] = 2.0  # one spike, scaled to 1 before the background goes on
    settings = copy.deepcopy(OFF)
    settings["background"] = {"enabled": True, "max_fraction": 0.5}
    patterns = add_background_and_noise(peaks, grid, settings, np.random.default_rng(8))
    # the same draws, in the documented order: level, slope, centre, width, hump per copy
    rng = np.random.default_rng(8)
    level, slope, centre, width, hump = (
        rng.uniform(low, high, (3, 1)) for low, high in [(0, 0.5), (-1, 1), (0.1, 0.35), (0.04, 0.12), (0, 2)]
    )
    x = (grid.two_theta - grid.start) / (grid.stop - grid.start)
    shape = 1 + 0.5 * slope * (1 - 2 * x) + hump * np.exp(-((x - centre) ** 2) / (2 * width**2))
    expected = level * shape / shape.max(axis=1, keepdims=True)
    expected[:, 3000] += 1
    expected /= expected.max(axis=1, keepdims=True)
    np.testing.assert_allclose(patterns, expected, atol=1e-6)


@pytest.mark.parametrize("counts", [50.0, 5000.0])
def test_noise_on_a_flat_pattern_has_poisson_statistics(counts: float) -> None:
    grid = Grid(0, 120, 0.02)
    settings = copy.deepcopy(OFF)
    settings["noise"] = {"enabled": True, "min_counts": counts, "max_counts": counts}
    patterns = add_background_and_noise(np.ones((40, grid.size)), grid, settings, np.random.default_rng(9))
    drawn = patterns / patterns.mean(axis=1, keepdims=True) * counts  # back to counts, to within 1 / sqrt(N)
    assert drawn.var(axis=1).mean() == pytest.approx(counts, rel=0.02)
    for pattern in patterns[:3]:  # whole counts over the largest count K: multiples of 1 / K
        guess = round(1 / np.diff(np.unique(pattern)).min())  # float32: within a few counts of K
        off_integer = {k: np.abs(pattern * k - np.round(pattern * k)).max() for k in range(guess - 5, guess + 6)}
        largest = min(off_integer, key=off_integer.get)
        assert off_integer[largest] < 0.05
        assert largest == pytest.approx(counts + 4 * math.sqrt(counts), rel=0.1 if counts < 100 else 0.01)
