"""Fitting cut-outs to a measured PDF: scale and isotropic zoom (bounded to a window), Rw over the fit range.

Three engines share the Debye model of :mod:`fingerprintml.motifs.debye`:

- ``fast``: every cut-out of a shard at once. Pairs with the same weights and msd whose distances agree within a
  tolerance share one kernel; a cut-out's G(r) is its pair counts per kernel times the kernels. G is evaluated at
  Chebyshev nodes of the zoom window and interpolated in zoom (a polynomial per r point), so the Rw of every
  cut-out at any zoom follows from a few dot products: scale is solved in closed form, zoom by a dense scan of the
  window and a golden-section refinement.
- ``srfit``: one cut-out at a time with diffpy.srfit (FitRecipe, FitContribution, a ProfileGenerator computing the
  Debye PDF) and scipy least_squares from several starting zooms; the reference the fast engine is tested against.
  It can also refine a/b/c zooms and delta2.
- ``srreal``: diffpy.srfit with diffpy.srreal's DebyePDFCalculator (Q-dependent x-ray form factors), where
  diffpy.srreal is installed (envs/motifs-srreal.yaml).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import least_squares

from fingerprintml.motifs.debye import DebyeCluster, PDFSettings, SineTransform, composition_norm, pair_table
from fingerprintml.motifs.structure import Cluster

GOLDEN = (np.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class FitSettings:
    """Fit range (A), zoom window, refined delta2 (srfit engines only) and the fast engine's numerics."""

    rmin: float
    rmax: float
    zoom_min: float
    zoom_max: float
    zoom_axes: str = "isotropic"
    refine_delta2: bool = False
    zoom_nodes: int = 8
    distance_tolerance: float = 1e-4
    scan_points: int = 101
    precision: str = "float32"
    pair_chunk: int = 4096
    srfit_starts: int = 3

    @classmethod
    def from_config(cls, cfg: dict) -> FitSettings:
        """Settings from the ``motifs.fit`` config block."""
        fast = cfg["fast"]
        return cls(
            rmin=cfg["rmin"],
            rmax=cfg["rmax"],
            zoom_min=cfg["zoom"][0],
            zoom_max=cfg["zoom"][1],
            zoom_axes=cfg["zoom_axes"],
            refine_delta2=cfg["refine_delta2"],
            zoom_nodes=fast["zoom_nodes"],
            distance_tolerance=fast["distance_tolerance"],
            scan_points=fast["scan_points"],
            precision=fast["precision"],
            pair_chunk=fast["pair_chunk"],
            srfit_starts=cfg["srfit_starts"],
        )


def rw(gobs: np.ndarray, gcalc: np.ndarray) -> float:
    """Rw = sqrt(sum (Gobs - Gcalc)^2 / sum Gobs^2)."""
    return float(np.sqrt(np.sum((gobs - gcalc) ** 2) / np.sum(gobs**2)))


def _chebyshev(u: torch.Tensor, degree: int) -> torch.Tensor:
    """T_0..T_{degree-1} at ``u`` (last axis: the polynomial order)."""
    terms = [torch.ones_like(u), u]
    while len(terms) < degree:
        terms.append(2 * u * terms[-1] - terms[-2])
    return torch.stack(terms[:degree], dim=-1)


class FastEngine:
    """Fits many cut-outs of one starting cluster at once (see the module docstring)."""

    def __init__(
        self,
        cluster: Cluster,
        r: np.ndarray,
        gobs: np.ndarray,
        pdf: PDFSettings,
        fit: FitSettings,
        device: str | torch.device = "cpu",
    ) -> None:
        if fit.zoom_axes != "isotropic" or fit.refine_delta2:
            raise ValueError("the fast engine refines scale and an isotropic zoom only; use engine: srfit")
        self.pdf, self.fit, self.device = pdf, fit, torch.device(device)
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[fit.precision]
        self.gobs = torch.as_tensor(gobs, dtype=torch.float64, device=self.device)
        self.weights = pdf.weights(cluster.elements)
        i, j, d = pair_table(cluster.xyz)
        u = pdf.uiso(cluster.elements)
        w, msd = self.weights[i] * self.weights[j], u[i] + u[j]
        keys = np.stack([w, msd, np.round(d / fit.distance_tolerance)], axis=1)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        self.pair_i, self.pair_j = i[order], j[order]
        self.pair_bin = inverse.ravel()[order]
        counts = np.bincount(self.pair_bin)
        self.bin_distance = np.bincount(self.pair_bin, weights=d[order]) / counts
        self.bin_weight, self.bin_msd = w[first], msd[first]
        self.n_pairs, self.n_bins = len(d), len(first)
        n = fit.zoom_nodes
        self.node_u = torch.cos(torch.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n)
        self.node_zoom = self._zoom(self.node_u).numpy()
        # Chebyshev coefficients from node values: c = V^-1 g with V[k, j] = T_j(u_k).
        self.to_coefficients = torch.linalg.inv(_chebyshev(self.node_u, n)).to(self.device)
        self.transform = SineTransform(pdf, r, dtype=self.dtype)

    def _zoom(self, u: torch.Tensor) -> torch.Tensor:
        mid, half = (self.fit.zoom_max + self.fit.zoom_min) / 2, (self.fit.zoom_max - self.fit.zoom_min) / 2
        return mid + half * u

    def node_profiles(self, masks: np.ndarray) -> torch.Tensor:
        """Normalised G(r) of each cut-out at each zoom node (cut-outs x nodes x r), accumulated over pair chunks."""
        m = torch.as_tensor(masks, device=self.device)
        n_r = len(self.transform.r)
        profiles = torch.zeros((len(masks), len(self.node_zoom), n_r), dtype=self.dtype, device=self.device)
        bounds = np.searchsorted(self.pair_bin, np.arange(0, self.n_bins, max(1, self.fit.pair_chunk // 4)))
        bounds = np.append(bounds, self.n_pairs)
        for start, stop in itertools.pairwise(bounds):
            if start == stop:
                continue
            bins = self.pair_bin[start:stop]
            first_bin = int(bins[0])
            present = m[:, self.pair_i[start:stop]] & m[:, self.pair_j[start:stop]]
            counts = torch.zeros((len(masks), int(bins[-1]) - first_bin + 1), dtype=self.dtype, device=self.device)
            counts.index_add_(1, torch.as_tensor(bins - first_bin, device=self.device), present.to(self.dtype))
            sl = slice(first_bin, int(bins[-1]) + 1)
            kernels = torch.cat(
                [
                    self.transform.kernels(self.bin_distance[sl], self.bin_msd[sl], self.bin_weight[sl], float(zoom))
                    for zoom in self.node_zoom
                ],
                dim=1,
            ).to(self.device)
            profiles += (counts @ kernels).view(len(masks), len(self.node_zoom), n_r)
        norm = torch.as_tensor(composition_norm(self.weights, masks), dtype=self.dtype, device=self.device)
        return profiles / norm[:, None, None]

    def fit_masks(self, masks: np.ndarray) -> pd.DataFrame:
        """Rw, scale and zoom of each cut-out (rows of ``masks``)."""
        profiles = self.node_profiles(masks)
        # G . Gobs and G . G at the nodes, then as Chebyshev coefficients in zoom (linear in the node values).
        a_nodes = (profiles @ self.gobs.to(self.dtype)).to(torch.float64)
        b_nodes = torch.bmm(profiles, profiles.transpose(1, 2)).to(torch.float64)
        v_inv = self.to_coefficients
        a = a_nodes @ v_inv.T
        b = v_inv @ b_nodes @ v_inv.T
        gg = float(self.gobs @ self.gobs)

        def misfit(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            t = _chebyshev(u, a.shape[1])  # (cut-outs, points, order)
            num = torch.bmm(t, a[:, :, None])[..., 0]
            den = (torch.bmm(t, b) * t).sum(dim=-1)
            return 1 - num**2 / (den * gg), num, den

        grid = torch.linspace(-1, 1, self.fit.scan_points, dtype=torch.float64).expand(len(masks), -1)
        best = misfit(grid)[0].argmin(dim=1)
        step = 2 / (self.fit.scan_points - 1)
        lo = (grid[:, 0] + (best - 1) * step).clamp(-1, 1)[:, None]
        hi = (grid[:, 0] + (best + 1) * step).clamp(-1, 1)[:, None]
        for _ in range(25):
            x1, x2 = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
            left = misfit(x1)[0] < misfit(x2)[0]
            hi = torch.where(left, x2, hi)
            lo = torch.where(left, lo, x1)
        u = (lo + hi) / 2
        r2, num, den = misfit(u)
        return pd.DataFrame(
            {
                "rw": torch.sqrt(r2.clamp(min=0))[:, 0].numpy(),
                "scale": (num / den)[:, 0].numpy(),
                "zoom": self._zoom(u[:, 0]).numpy(),
            }
        )


def _srfit_generator_class():
    from diffpy.srfit.fitbase import ProfileGenerator

    class DebyeClusterGenerator(ProfileGenerator):
        """G(r) of a cluster by this package's Debye model, with zoom parameter(s) and delta2."""

        def __init__(self, name: str, cluster: Cluster, pdf: PDFSettings, axes: str) -> None:
            super().__init__(name)
            self.cluster, self.pdf = cluster, pdf
            self.zoom_names = ["zoom"] if axes == "isotropic" else ["zoom_a", "zoom_b", "zoom_c"]
            for zoom_name in self.zoom_names:
                self._newParameter(zoom_name, 1.0)
            self._newParameter("delta2", pdf.delta2)
            self._model: DebyeCluster | None = None

        def __call__(self, r: np.ndarray) -> np.ndarray:
            if self._model is None or len(self._model.transform.r) != len(r):
                self._model = DebyeCluster(self.cluster.xyz, self.cluster.elements, SineTransform(self.pdf, r))
            zooms = [self.get(zoom_name).value for zoom_name in self.zoom_names]
            return self._model.gr(zooms[0] if len(zooms) == 1 else tuple(zooms), self.delta2.value)

    return DebyeClusterGenerator


def _srreal_generator(cluster: Cluster, pdf: PDFSettings, r: np.ndarray):
    try:
        import diffpy.srreal  # noqa: F401 - the generator below needs it only when constructed
        from diffpy.srfit.pdf import DebyePDFGenerator
        from diffpy.structure import Atom, Lattice, Structure
    except ImportError as err:
        raise RuntimeError(
            "engine 'srreal' needs diffpy.srreal, which is not installed here; run the motifs_fit rule with "
            "--sdm conda (envs/motifs-srreal.yaml) or choose engine: fast or srfit"
        ) from err
    structure = Structure(
        [Atom(e, xyz, lattice=Lattice()) for e, xyz in zip(cluster.elements, cluster.xyz, strict=True)]
    )
    for atom in structure:
        atom.Bisoequiv = pdf.biso.get(atom.element, pdf.biso_default)
    generator = DebyePDFGenerator("G")
    generator.setStructure(structure, periodic=False)
    generator.setQmin(pdf.qmin)
    generator.setQmax(pdf.qmax)
    generator.qdamp.value, generator.qbroad.value = pdf.qdamp, pdf.qbroad
    generator.delta2.value = pdf.delta2
    generator._calc.setScatteringFactorTableByType("X" if pdf.scattering == "xray" else "N")
    return generator


def fit_one(
    cluster: Cluster,
    r: np.ndarray,
    gobs: np.ndarray,
    pdf: PDFSettings,
    fit: FitSettings,
    engine: str = "srfit",
) -> dict[str, float]:
    """Fit one cluster with diffpy.srfit (engine 'srfit' or 'srreal'): best of ``srfit_starts`` starting zooms."""
    from diffpy.srfit.fitbase import FitContribution, FitRecipe, Profile

    profile = Profile()
    profile.setObservedProfile(r, gobs)
    profile.setCalculationRange(fit.rmin, fit.rmax)
    if engine == "srreal":
        generator = _srreal_generator(cluster, pdf, profile.x)
        zoom_names = ["zoom"]
    else:
        generator = _srfit_generator_class()("G", cluster, pdf, fit.zoom_axes)
        zoom_names = generator.zoom_names
    contribution = FitContribution("cutout")
    contribution.addProfileGenerator(generator)
    contribution.setProfile(profile, xname="r")
    contribution.setEquation("scale * G")
    recipe = FitRecipe()
    recipe.fithooks[0].verbose = 0
    recipe.addContribution(contribution)
    recipe.addVar(contribution.scale, 1.0)
    if engine == "srreal":
        # srreal structures are zoomed through the lattice; one factor scales a, b and c together.
        phase = generator.phase
        zoom_pars = [phase.lattice.a, phase.lattice.b, phase.lattice.c]
        recipe.newVar("zoom", 1.0).boundRange(fit.zoom_min, fit.zoom_max)
        for par in zoom_pars:
            recipe.constrain(par, "zoom")
    else:
        for zoom_name in zoom_names:
            recipe.addVar(generator.get(zoom_name), 1.0).boundRange(fit.zoom_min, fit.zoom_max)
    if fit.refine_delta2:
        recipe.addVar(generator.delta2, pdf.delta2).boundRange(0.0, 10.0)
    g_obs = profile.y
    best: dict[str, float] | None = None
    for start in np.linspace(fit.zoom_min, fit.zoom_max, fit.srfit_starts + 2)[1:-1]:
        for zoom_name in zoom_names:
            recipe.get(zoom_name).value = start
        # Start from the closed-form scale at the starting zoom.
        if engine != "srreal":
            generator.get(zoom_names[0]).value = start
        g_calc = generator(profile.x)
        recipe.scale.value = float(g_calc @ g_obs / (g_calc @ g_calc))
        lb, ub = recipe.getBounds2()
        result = least_squares(recipe.residual, recipe.values, bounds=(lb, ub), xtol=1e-12, ftol=1e-12, gtol=1e-12)
        recipe.residual(result.x)
        g_fit = contribution.evaluate()
        values = {name: float(value) for name, value in zip(recipe.names, result.x, strict=True)}
        values["rw"] = rw(g_obs, g_fit)
        if best is None or values["rw"] < best["rw"]:
            best = values
    return best


def fit_masks(
    cluster: Cluster,
    masks: np.ndarray,
    r: np.ndarray,
    gobs: np.ndarray,
    *,
    pdf: PDFSettings,
    fit: FitSettings,
    engine: str,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Rw and refined parameters of each cut-out mask with the chosen engine (fit range applied to r, gobs)."""
    window = (r >= fit.rmin - 1e-9) & (r <= fit.rmax + 1e-9)
    if engine == "fast":
        engine_fast = FastEngine(cluster, r[window], gobs[window], pdf, fit, device)
        return engine_fast.fit_masks(masks)
    rows = [fit_one(cluster.subset(mask), r, gobs, pdf, fit, engine) for mask in masks]
    return pd.DataFrame(rows)
