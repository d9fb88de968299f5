"""Demo data: an ideal alpha-Keggin W12O40 unit with extra WO6 octahedra attached, and the PDF of the Keggin alone.

The Keggin is built from its ideal geometry: the 12 W sit on the vertices of a cuboctahedron (circumradius
``radius``), one terminal O points radially out of each W, one bridging O sits on each of the 24 edges (pushed
outwards to a W-O distance of ``bridge``), and four mu4-O sit towards the four tetrahedrally arranged triangular faces
(W-O distance ``central``). Decoy W atoms are bonded through the terminal O of some Keggin W (linear W-O-W) and
complete their octahedra with five terminal O. The planted motif is the Keggin.

The demo's "measured" PDF shares no setting or code with the fit, so that the demo tests whether the fit's model is
adequate, not only its mechanics: it is made by :func:`realspace_gr`, Gaussian pair peaks summed in real space
(PDFfit2's form, 1/r, with Jeong's correlated-motion width sigma^2 = sigma_0^2 (1 - delta1/d) + Qbroad^2 d^2 where the
fit uses delta2 and its own Qbroad), band-limited to the generator's own Q range and damped by its own Qdamp, with its
own Biso; the noise is white in Q and transformed to r (:func:`fourier_noise`), so it is correlated over r as in a
measured PDF.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import periodictable
from scipy.optimize import brentq

from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.structure import Cluster


def _outward_point(direction: np.ndarray, anchor: np.ndarray, distance: float) -> np.ndarray:
    """The point along unit ``direction`` from the origin at ``distance`` from ``anchor`` (the outer solution)."""
    unit = direction / np.linalg.norm(direction)
    rho = brentq(lambda t: np.linalg.norm(t * unit - anchor) - distance, unit @ anchor, 20.0)
    return rho * unit


def keggin(radius: float = 3.55, terminal: float = 1.70, bridge: float = 1.92, central: float = 2.40) -> Cluster:
    """An ideal alpha-Keggin W12O40 cluster centred at the origin (W first, then O)."""
    s = radius / np.sqrt(2)
    w = np.array(
        [
            v
            for perm in ([0, 1, 2], [0, 2, 1], [2, 0, 1])
            for v in (np.array([a, b, 0.0])[perm] for a in (s, -s) for b in (s, -s))
        ]
    )
    term = w * (1 + terminal / radius)
    edges = [
        (a, b) for a, b in itertools.combinations(range(12), 2) if abs(np.linalg.norm(w[a] - w[b]) - radius) < 1e-6
    ]
    bridging = np.array([_outward_point(w[a] + w[b], w[a], bridge) for a, b in edges])
    faces = [np.array(v, dtype=float) for v in itertools.product((1, -1), repeat=3) if np.prod(v) > 0]
    mu4 = []
    for normal in faces:
        corner = w[np.argmax(w @ normal)]
        mu4.append(_inner_point(normal, corner, central))
    xyz = np.vstack([w, term, bridging, np.array(mu4)])
    elements = np.array(["W"] * 12 + ["O"] * (len(xyz) - 12))
    return Cluster(elements, xyz)


def _inner_point(direction: np.ndarray, anchor: np.ndarray, distance: float) -> np.ndarray:
    """The point along unit ``direction`` nearest the origin at ``distance`` from ``anchor``."""
    unit = direction / np.linalg.norm(direction)
    rho = brentq(lambda t: np.linalg.norm(t * unit - anchor) - distance, 0.0, unit @ anchor)
    return rho * unit


def keggin_with_decoys(
    n_decoys: int, terminal: float = 1.70, bridge: float = 1.92, decoy_terminal: float = 1.80
) -> tuple[Cluster, np.ndarray]:
    """The Keggin plus ``n_decoys`` WO6 octahedra bonded to the terminal O of Keggin W 0, 2, 4, ...; atoms ordered
    W (Keggin, then decoys) then O. Returns the cluster and the boolean mask of the planted Keggin atoms."""
    base = keggin(terminal=terminal, bridge=bridge)
    w_keggin, o_keggin = base.xyz[:12], base.xyz[12:]
    if not 0 <= n_decoys <= 6:
        raise ValueError("the demo attaches 0 to 6 decoy octahedra")
    decoy_w, decoy_o = [], []
    for k in range(0, 2 * n_decoys, 2):
        radial = w_keggin[k] / np.linalg.norm(w_keggin[k])
        centre = w_keggin[k] + radial * (terminal + bridge)
        side = np.cross(radial, [0.0, 0.0, 1.0] if abs(radial[2]) < 0.9 else [1.0, 0.0, 0.0])
        side /= np.linalg.norm(side)
        up = np.cross(radial, side)
        decoy_w.append(centre)
        decoy_o.extend(centre + decoy_terminal * v for v in (radial, side, -side, up, -up))
    xyz = np.vstack([w_keggin, np.array(decoy_w).reshape(-1, 3), o_keggin, np.array(decoy_o).reshape(-1, 3)])
    n_w = 12 + n_decoys
    elements = np.array(["W"] * n_w + ["O"] * (len(xyz) - n_w))
    planted = np.zeros(len(xyz), dtype=bool)
    planted[:12] = True
    planted[n_w : n_w + len(o_keggin)] = True
    return Cluster(elements, xyz), planted


def simulate_pdf(
    motif: Cluster,
    settings: PDFSettings,
    r: np.ndarray,
    *,
    scale: float,
    zoom: float,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The motif's PDF under the fit's own model (Debye engine) times ``scale`` at ``zoom``, plus white Gaussian
    noise of sd ``noise`` x max |G|: data the fit can reproduce exactly, for testing the engines' mechanics (the demo
    dataset uses :func:`realspace_gr` instead)."""
    g = scale * debye_gr(motif.xyz, motif.elements, settings, r, zoom)
    return g + rng.normal(0.0, noise * np.abs(g).max(), size=len(g))


@dataclass(frozen=True)
class MeasurementSettings:
    """How the demo's "measured" PDF is made (its own settings, not the fit's): Q range (1/A), Qdamp, Biso (A^2,
    all atoms), Jeong's delta1 (A) and Qbroad (1/A), Q step of the band limit and of the noise."""

    qmin: float
    qmax: float
    qdamp: float
    biso: float
    delta1: float
    qbroad: float
    qstep: float = 0.01

    def q_grid(self) -> np.ndarray:
        """The Q points of the band limit (midpoints of steps of ``qstep`` from ``qmin`` to ``qmax``)."""
        n = max(round((self.qmax - self.qmin) / self.qstep), 1)
        return self.qmin + (np.arange(n) + 0.5) * (self.qmax - self.qmin) / n


def _band_limit(g_full: np.ndarray, r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """G(r) restricted to the Q window of ``q``: F(Q) = int G sin(Q r) dr, then G = 2/pi sum F(Q) sin(Q r) dQ."""
    dr, dq = np.gradient(r), q[1] - q[0] if len(q) > 1 else 1.0
    sines = np.sin(np.outer(q, r))
    return (2 / np.pi) * dq * (sines.T @ (sines @ (g_full * dr)))


def realspace_gr(motif: Cluster, r: np.ndarray, settings: MeasurementSettings) -> np.ndarray:
    """The cluster's PDF from Gaussian pair peaks in real space, independent of the fit's Debye engine.

    G(r) = 1/(N <Z>^2) sum_{i != j} Z_i Z_j / r [g(r - d_ij) - g(r + d_ij)], g a unit Gaussian of variance
    sigma_ij^2 = 2 Biso / (8 pi^2) (1 - delta1 / d_ij) + (Qbroad d_ij)^2, band-limited to [qmin, qmax] (termination
    ripples) and damped by exp(-(Qdamp r)^2 / 2).

    Parameters
    ----------
    motif
        The atoms (x-ray weights: atomic numbers).
    r
        The r grid (A), uniform from (near) 0.
    settings
        The measurement's own settings.
    """
    z = np.array([periodictable.elements.symbol(element).number for element in motif.elements], dtype=float)
    i, j = np.triu_indices(len(motif), k=1)
    d = np.linalg.norm(motif.xyz[i] - motif.xyz[j], axis=1)
    weight = 2 * z[i] * z[j] / (len(motif) * z.mean() ** 2)  # both orders of each pair
    variance = 2 * settings.biso / (8 * np.pi**2) * (1 - settings.delta1 / d) + (settings.qbroad * d) ** 2
    if (variance <= 0).any():
        raise ValueError(f"delta1 {settings.delta1} A makes the peak width of pairs at {d.min():.2f} A non-positive")
    sigma = np.sqrt(variance)
    peaks = np.zeros_like(r)
    for start in range(0, len(d), 2048):
        part = slice(start, start + 2048)
        gauss = [
            np.exp(-0.5 * ((r[None, :] - sign * d[part, None]) / sigma[part, None]) ** 2)
            / (np.sqrt(2 * np.pi) * sigma[part, None])
            for sign in (1, -1)
        ]
        peaks += (weight[part, None] * (gauss[0] - gauss[1])).sum(axis=0)
    g_full = np.divide(peaks, r, out=np.zeros_like(r), where=r > 0)
    return _band_limit(g_full, r, settings.q_grid()) * np.exp(-0.5 * (settings.qdamp * r) ** 2)


def fourier_noise(r: np.ndarray, settings: MeasurementSettings, sd: float, rng: np.random.Generator) -> np.ndarray:
    """Noise as in a measured PDF: white Gaussian noise in F(Q) on the measurement's Q grid, sine-transformed to r
    and scaled to standard deviation ``sd``. Its autocorrelation at lag D is close to
    (sin(qmax D) - sin(qmin D)) / ((qmax - qmin) D): neighbouring points within about pi / qmax are correlated."""
    q = settings.q_grid()
    noise = np.sin(np.outer(r, q)) @ rng.normal(size=len(q))
    return noise * sd / noise.std()


@dataclass(frozen=True)
class GeneratorSettings:
    """A generated dataset (a dataset block's ``generator``): decoy octahedra, the planted motif's scale and zoom,
    the noise (its standard deviation as a fraction of max |G|), the r grid (0 to ``rmax`` in steps of ``rstep``, A)
    and the measurement's own settings."""

    decoys: int
    scale: float
    zoom: float
    noise: float
    rmax: float
    rstep: float
    measurement: MeasurementSettings

    @classmethod
    def from_config(cls, cfg: dict) -> GeneratorSettings:
        """Settings from a ``motifs.datasets.<name>.generator`` block (``measurement``: its own sub-block)."""
        names = ("decoys", "scale", "zoom", "noise", "rmax", "rstep")
        return cls(**{name: cfg[name] for name in names}, measurement=MeasurementSettings(**cfg["measurement"]))


@dataclass(frozen=True)
class Generated:
    """A generated dataset: the starting cluster, the planted motif's atoms, and the PDF of the motif alone."""

    cluster: Cluster
    planted: np.ndarray
    r: np.ndarray
    g: np.ndarray
    header: str

    def planted_table(self) -> pd.DataFrame:
        """One row per atom: its index and whether it belongs to the planted motif."""
        return pd.DataFrame({"index": np.arange(len(self.cluster)), "planted": self.planted})


def generate(settings: GeneratorSettings, rng: np.random.Generator) -> Generated:
    """The Keggin with ``settings.decoys`` decoy octahedra and the "measured" PDF of the Keggin alone: scaled, zoomed
    (coordinates times ``zoom``), from :func:`realspace_gr` with the measurement's own settings, plus noise
    correlated over r (:func:`fourier_noise`)."""
    cluster, planted = keggin_with_decoys(settings.decoys)
    r = np.round(np.arange(0.0, settings.rmax + 1e-9, settings.rstep), 6)
    keggin_alone = cluster.subset(planted)
    zoomed = Cluster(keggin_alone.elements, keggin_alone.xyz * settings.zoom)
    g = settings.scale * realspace_gr(zoomed, r, settings.measurement)
    g += fourier_noise(r, settings.measurement, settings.noise * np.abs(g).max(), rng)
    m = settings.measurement
    header = (
        f"generated PDF of the planted Keggin motif: scale {settings.scale}, zoom {settings.zoom}, noise "
        f"{settings.noise} (white in Q); real-space engine, Q {m.qmin}-{m.qmax}, Qdamp {m.qdamp}, Biso {m.biso}, "
        f"delta1 {m.delta1}, Qbroad {m.qbroad}"
    )
    return Generated(cluster, planted, r, g, header)
