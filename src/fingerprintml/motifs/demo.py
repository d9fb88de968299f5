"""Demo data: an ideal alpha-Keggin W12O40 unit with extra WO6 octahedra attached, and the PDF of the Keggin alone.

The Keggin is built from its ideal geometry: the 12 W sit on the vertices of a cuboctahedron (circumradius
``radius``), one terminal O points radially out of each W, one bridging O sits on each of the 24 edges (pushed
outwards to a W-O distance of ``bridge``), and four mu4-O sit towards the four tetrahedrally arranged triangular faces
(W-O distance ``central``). Decoy W atoms are bonded through the terminal O of some Keggin W (linear W-O-W) and
complete their octahedra with five terminal O. The planted motif is the Keggin: the demo PDF is its Debye PDF
(zoomed, scaled) plus Gaussian noise, on the r grid and Q settings of the paper's data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
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
    """The motif's Debye PDF times ``scale`` at ``zoom``, plus Gaussian noise of sd ``noise`` x max |G|."""
    g = scale * debye_gr(motif.xyz, motif.elements, settings, r, zoom)
    return g + rng.normal(0.0, noise * np.abs(g).max(), size=len(g))


@dataclass(frozen=True)
class GeneratorSettings:
    """A generated dataset (a dataset block's ``generator``): decoy octahedra, the planted motif's scale and zoom,
    the noise (fraction of max |G|) and the r grid (0 to ``rmax`` in steps of ``rstep``, A)."""

    decoys: int
    scale: float
    zoom: float
    noise: float
    rmax: float
    rstep: float

    @classmethod
    def from_config(cls, cfg: dict) -> GeneratorSettings:
        """Settings from a ``motifs.datasets.<name>.generator`` block."""
        return cls(**{name: cfg[name] for name in ("decoys", "scale", "zoom", "noise", "rmax", "rstep")})


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


def generate(settings: GeneratorSettings, pdf: PDFSettings, rng: np.random.Generator) -> Generated:
    """The Keggin with ``settings.decoys`` decoy octahedra and the noisy, scaled, zoomed PDF of the Keggin alone."""
    cluster, planted = keggin_with_decoys(settings.decoys)
    r = np.round(np.arange(0.0, settings.rmax + 1e-9, settings.rstep), 6)
    g = simulate_pdf(
        cluster.subset(planted), pdf, r, scale=settings.scale, zoom=settings.zoom, noise=settings.noise, rng=rng
    )
    header = (
        f"generated PDF of the planted Keggin motif: scale {settings.scale}, zoom {settings.zoom}, "
        f"noise {settings.noise}"
    )
    return Generated(cluster, planted, r, g, header)
