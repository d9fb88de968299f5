"""Fitting cut-outs to a measured PDF: scale and isotropic zoom (bounded to a window), Rw over the fit range; and the
refinement of one structure (the motif) with zooms, Biso per element and peak-width terms, with uncertainties.

Three engines share the Debye model of :mod:`fingerprintml.motifs.debye` (srreal's DebyePDFCalculator conventions):

- ``fast``: every cut-out of a shard at once. Pairs of the same element pair whose distances agree within a
  tolerance share one term of F(Q); a cut-out's F(Q) is its pair counts per term times the terms, divided at every Q
  by its own N <f(Q)>^2 (the x-ray f(Q) make the normalisation Q- and composition-dependent, so the sum stays in Q
  until then), and one matrix product sine-transforms all cut-outs to G(r). G is evaluated at Chebyshev nodes of
  the zoom window and interpolated in zoom (a polynomial per r point), so the Rw of every cut-out at any zoom
  follows from a few dot products: scale is solved in closed form, zoom by a dense scan of the window and a
  golden-section refinement.
- ``srfit``: one cut-out at a time with diffpy.srfit (FitRecipe, FitContribution, a ProfileGenerator computing the
  Debye PDF) and scipy least_squares from several starting zooms; the reference the fast engine is tested against.
  It can also refine a/b/c zooms and delta2.
- ``srreal``: diffpy.srfit with diffpy.srreal's DebyePDFCalculator (same f(Q), Jeong width, Q grid, Qdamp), where
  diffpy.srreal is installed (envs/motifs-srreal.yaml).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import least_squares

from fingerprintml.motifs.debye import DebyeCluster, ElementTable, PDFSettings, SineTransform, pair_table
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
        self.elements = ElementTable(cluster.elements, pdf)
        i, j, d = pair_table(cluster.xyz)
        a, b = self.elements.index[i], self.elements.index[j]
        kind = np.minimum(a, b) * len(self.elements.symbols) + np.maximum(a, b)
        keys = np.stack([kind, np.round(d / fit.distance_tolerance)], axis=1)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        self.pair_i, self.pair_j = i[order], j[order]
        self.pair_bin = inverse.ravel()[order]
        counts = np.bincount(self.pair_bin)
        self.bin_distance = np.bincount(self.pair_bin, weights=d[order]) / counts
        u = pdf.uiso(cluster.elements)
        self.bin_msd = (u[i] + u[j])[first]
        self.bin_amplitude = 2 * self.elements.factors[a[first]] * self.elements.factors[b[first]]
        self.n_pairs, self.n_bins = len(d), len(first)
        n = fit.zoom_nodes
        self.node_u = torch.cos(torch.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n)
        self.node_zoom = self._zoom(self.node_u).numpy()
        # Chebyshev coefficients from node values: c = V^-1 g with V[k, j] = T_j(u_k).
        self.to_coefficients = torch.linalg.inv(_chebyshev(self.node_u, n)).to(self.device)
        self.transform = SineTransform(pdf, r, dtype=self.dtype)
        self.transform.matrix = self.transform.matrix.to(self.device)

    def _zoom(self, u: torch.Tensor) -> torch.Tensor:
        mid, half = (self.fit.zoom_max + self.fit.zoom_min) / 2, (self.fit.zoom_max - self.fit.zoom_min) / 2
        return mid + half * u

    def _bin_terms(self, bins: slice) -> torch.Tensor:
        """Pair terms of N <f>^2 F(Q) of the distance bins ``bins`` at every zoom node: bins x (nodes Q)."""
        d = torch.as_tensor(self.bin_distance[bins])
        msd = torch.as_tensor(self.bin_msd[bins])
        terms = []
        for zoom in self.node_zoom:
            dz = d * float(zoom)
            terms.append(self.transform.pair_terms(dz, msd * self.pdf.sharpening(dz), self.bin_amplitude[bins]))
        return torch.cat(terms, dim=1).to(self.dtype).to(self.device)

    def node_profiles(self, masks: np.ndarray) -> torch.Tensor:
        """Normalised G(r) of each cut-out at each zoom node (cut-outs x nodes x r): F(Q) accumulated over pair
        chunks, divided by each cut-out's N <f(Q)>^2 at every Q, then sine-transformed."""
        m = torch.as_tensor(masks, device=self.device)
        n_q = len(self.transform.q)
        fq = torch.zeros((len(masks), len(self.node_zoom) * n_q), dtype=self.dtype, device=self.device)
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
            fq += counts @ self._bin_terms(slice(first_bin, int(bins[-1]) + 1))
        norm = self.elements.norm(masks).to(self.dtype).to(self.device)
        fq = fq.view(len(masks), len(self.node_zoom), n_q) / norm[:, None, :]
        return self.transform(fq)

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
            settings = self.pdf.with_values(delta2=self.delta2.value)
            return self._model.gr(zooms[0] if len(zooms) == 1 else tuple(zooms), settings)

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
    generator.delta1.value, generator.delta2.value = pdf.delta1, pdf.delta2
    generator._calc.qstep = pdf.qstep  # the configured Q grid; srreal keeps a step finer than its optimum
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


@dataclass(frozen=True)
class RefineSettings:
    """What the structure refinement varies besides the scale: isotropic or per-axis (``abc``: x, y, z) zooms within
    ``zoom_min``-``zoom_max``, Biso of every element (``biso``), and the Jeong width terms named in ``width``
    (delta1, delta2, qbroad)."""

    zoom_axes: str = "abc"
    zoom_min: float = 0.95
    zoom_max: float = 1.05
    biso: bool = True
    width: tuple[str, ...] = ("delta2",)

    @classmethod
    def from_config(cls, cfg: dict) -> RefineSettings:
        """Settings from the ``motifs.motif.refine`` config block."""
        return cls(
            zoom_axes=cfg["zoom_axes"],
            zoom_min=cfg["zoom"][0],
            zoom_max=cfg["zoom"][1],
            biso=cfg["biso"],
            width=tuple(cfg["width"]),
        )


# Bounds of the refined peak-width terms and Biso (A^2).
WIDTH_BOUNDS = {"delta1": (0.0, 2.0), "delta2": (0.0, 10.0), "qbroad": (0.0, 0.2)}
BISO_BOUNDS = (0.01, 5.0)


def refine_structure(
    cluster: Cluster, r: np.ndarray, gobs: np.ndarray, pdf: PDFSettings, refine: RefineSettings, starts: int = 3
) -> tuple[dict[str, float | None], np.ndarray]:
    """Least-squares refinement of one cluster's G(r) to ``gobs`` on ``r`` (the fit range): the best of ``starts``
    starting zooms spread over the window.

    Returns the refined values (``scale``, ``zoom`` or ``zoom_a``/``zoom_b``/``zoom_c``, ``biso_<El>``, the width
    terms), each with its standard uncertainty ``<name>_std`` and ``rw``; and the calculated G(r). The uncertainty is
    sqrt(diag(s^2 (J^T J)^-1)) with s^2 the residual variance per degree of freedom, multiplied by sqrt(pi / (Qmax
    dr)) where the r step dr oversamples the data's Nyquist step pi / Qmax (neighbouring points are not independent);
    None for a parameter held at a bound. Directions the data do not determine (the a and b zooms of a cluster
    symmetric under swapping x and y, refined from equal starts) show as very large uncertainties.
    """
    model = DebyeCluster(cluster.xyz, cluster.elements, SineTransform(pdf, r))
    zoom_names = ["zoom"] if refine.zoom_axes == "isotropic" else ["zoom_a", "zoom_b", "zoom_c"]
    biso_names = [f"biso_{e}" for e in np.unique(cluster.elements)] if refine.biso else []
    names = ["scale", *zoom_names, *biso_names, *refine.width]
    lower = [-np.inf] + [refine.zoom_min] * len(zoom_names) + [BISO_BOUNDS[0]] * len(biso_names)
    upper = [np.inf] + [refine.zoom_max] * len(zoom_names) + [BISO_BOUNDS[1]] * len(biso_names)
    lower += [WIDTH_BOUNDS[w][0] for w in refine.width]
    upper += [WIDTH_BOUNDS[w][1] for w in refine.width]
    bisos = [pdf.biso.get(name.removeprefix("biso_"), pdf.biso_default) for name in biso_names]
    widths = [float(np.clip(getattr(pdf, w), *WIDTH_BOUNDS[w])) for w in refine.width]

    def calculate(x: np.ndarray) -> np.ndarray:
        values = dict(zip(names, x, strict=True))
        zoom = values["zoom"] if len(zoom_names) == 1 else tuple(values[name] for name in zoom_names)
        settings = pdf.with_values(**{name: values[name] for name in (*biso_names, *refine.width)})
        return values["scale"] * model.gr(zoom, settings)

    best = None
    for start in np.linspace(refine.zoom_min, refine.zoom_max, starts + 2)[1:-1]:
        unscaled = calculate(np.array([1.0, *[start] * len(zoom_names), *bisos, *widths]))
        scale = float(unscaled @ gobs / (unscaled @ unscaled))
        x0 = np.array([scale, *[start] * len(zoom_names), *bisos, *widths])
        result = least_squares(lambda x: calculate(x) - gobs, x0, bounds=(lower, upper), x_scale="jac")
        if best is None or result.cost < best.cost:
            best = result
    # Parameters held at a bound are fixed there: no uncertainty (NaN), the others' from the free columns of J.
    lower, upper = np.asarray(lower), np.asarray(upper)
    tolerance = 1e-6 * np.maximum(1.0, np.where(np.isfinite(lower), np.abs(lower), 1.0))
    free = (best.active_mask == 0) & (best.x - lower > tolerance) & (upper - best.x > tolerance)
    jac = best.jac[:, free]
    dof = max(1, len(gobs) - int(free.sum()))
    covariance = np.linalg.pinv(jac.T @ jac) * (2 * best.cost / dof)
    oversampling = max(1.0, np.pi / pdf.qmax / float(np.median(np.diff(r))))
    std = np.full(len(names), np.nan)
    std[free] = np.sqrt(np.clip(np.diag(covariance), 0, None) * oversampling)
    gcalc = calculate(best.x)
    values: dict[str, float | None] = {"rw": rw(gobs, gcalc)}
    for name, value, error in zip(names, best.x, std, strict=True):
        values[name], values[f"{name}_std"] = float(value), None if np.isnan(error) else float(error)
    return values, gcalc
