"""The Debye-equation PDF of a finite cluster under diffpy.srreal's DebyePDFCalculator conventions, shared by every
fitting engine.

F(Q) = 1/(N <f(Q)>^2) sum_{i != j} f_i(Q) f_j(Q) sin(Q r_ij) / r_ij exp(-sigma_ij^2 Q^2 / 2) on the grid Q_k = k Qstep
with Qmin <= Q_k < Qmax (F = 0 outside: the termination), normalised at every Q by the cluster's own <f(Q)>; then
G(r) = 2/pi sum_k F(Q_k) sin(Q_k r) Qstep (the rectangle rule srreal's FFT and DebyeCalculator evaluate), times the
Qdamp envelope exp(-(Qdamp r)^2 / 2).

Pair width, Jeong et al., Phys. Rev. B 67, 104301 (2003), as PDFfit2 and srreal's ``JeongPeakWidth`` define it:
sigma_ij^2 = msd_ij (1 - delta1/r - delta2/r^2 + Qbroad^2 r^2), msd_ij = U_i + U_j (U = Biso / 8 pi^2, isotropic),
r the (zoomed) pair distance; a non-positive factor gives sigma = 0 (srreal; PDFfit2 drops such a pair).

Scattering weights: x-ray f(Q) (:func:`fingerprintml.motifs.scattering.xray_form_factors`) or the coherent neutron
scattering length (Q-independent).

Differences from srreal: G(r) is evaluated directly on the data's r points (srreal Fourier transforms by FFT onto a
padded grid and interpolates linearly), every pair of the cluster is summed (srreal only pairs within rmax plus a
ripple and peak-tail extension, at most 10 A) and the Q step is the configured ``qstep`` (srreal: pi / that extended
rmax, larger than 0.05 for the paper's settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from fingerprintml.motifs.scattering import scattering_factors


@dataclass(frozen=True)
class PDFSettings:
    """Debye-model settings.

    Parameters
    ----------
    qmin, qmax, qstep
        The Q grid (1/A): Q_k = k qstep with qmin <= Q_k < qmax.
    qdamp
        Instrument resolution: the envelope exp(-(qdamp r)^2 / 2).
    qbroad, delta1, delta2
        Jeong peak width: sigma^2 = msd (1 - delta1/r - delta2/r^2 + qbroad^2 r^2); qbroad (1/A) broadens with r,
        delta1 (A) and delta2 (A^2) sharpen near-neighbour peaks (correlated motion; delta1 at high, delta2 at low
        temperature).
    biso, biso_default
        Isotropic displacement Biso (A^2) per element, and for elements not listed.
    scattering
        ``xray`` (Waasmaier-Kirfel f(Q)) or ``neutron`` (coherent scattering lengths).
    """

    qmin: float
    qmax: float
    qdamp: float
    qbroad: float = 0.0
    delta1: float = 0.0
    delta2: float = 0.0
    biso: dict[str, float] = field(default_factory=dict)
    biso_default: float = 0.4
    scattering: str = "xray"
    qstep: float = 0.05

    def uiso(self, elements: list[str] | np.ndarray) -> np.ndarray:
        """Isotropic mean-square displacement U = Biso / (8 pi^2) of each atom."""
        return np.array([self.biso.get(e, self.biso_default) for e in elements]) / (8 * np.pi**2)

    def q_grid(self) -> np.ndarray:
        """The Q points k qstep with qmin <= Q < qmax (1e-9 relative tolerance on the bounds)."""
        first = int(np.ceil(self.qmin / self.qstep - 1e-9))
        stop = int(np.ceil(self.qmax / self.qstep - 1e-9))
        if stop - first < 2:
            raise ValueError(f"the Q grid {self.qmin}-{self.qmax} 1/A in steps of {self.qstep} has under 2 points")
        return np.arange(first, stop) * self.qstep

    def sharpening(self, distance: torch.Tensor) -> torch.Tensor:
        """The Jeong factor 1 - delta1/r - delta2/r^2 + (qbroad r)^2, clipped at 0."""
        ratio = 1.0 - self.delta1 / distance - self.delta2 / distance**2 + (self.qbroad * distance) ** 2
        return ratio.clamp(min=0.0)

    def with_values(self, **values: float) -> PDFSettings:
        """A copy with refined values: ``biso_<El>`` set Biso of an element, other names are fields."""
        biso = dict(self.biso)
        fields = {}
        for name, value in values.items():
            if name.startswith("biso_"):
                biso[name.removeprefix("biso_")] = float(value)
            else:
                fields[name] = float(value)
        return replace(self, biso=biso, **fields)

    @classmethod
    def from_config(cls, cfg: dict) -> PDFSettings:
        """Settings from the ``motifs.pdf`` config block."""
        names = ("qmin", "qmax", "qdamp", "qbroad", "delta1", "delta2", "biso_default", "scattering", "qstep")
        return cls(biso=dict(cfg["biso"]), **{name: cfg[name] for name in names})


def jeong_sigma2(msd: np.ndarray, distance: np.ndarray, settings: PDFSettings) -> np.ndarray:
    """Pair width sigma^2 (A^2) of pairs with summed ``msd`` at ``distance`` (see the module docstring)."""
    d = torch.as_tensor(np.asarray(distance, dtype=float))
    return (torch.as_tensor(np.asarray(msd, dtype=float)) * settings.sharpening(d)).numpy()


def pair_table(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices i < j of every atom pair and their distances."""
    i, j = np.triu_indices(len(xyz), k=1)
    return i, j, np.linalg.norm(xyz[i] - xyz[j], axis=1)


class ElementTable:
    """The elements of a cluster: each atom's element index and each element's scattering factor on the Q grid."""

    def __init__(self, elements: list[str] | np.ndarray, settings: PDFSettings) -> None:
        self.symbols, self.index = np.unique(np.asarray(elements), return_inverse=True)
        self.factors = torch.as_tensor(scattering_factors(list(self.symbols), settings.q_grid(), settings.scattering))

    def norm(self, masks: np.ndarray) -> torch.Tensor:
        """N <f(Q)>^2 = (sum f(Q))^2 / N of each cut-out (rows of the boolean ``masks``), cut-outs x Q."""
        masks = np.atleast_2d(masks)
        counts = np.stack([masks[:, self.index == k].sum(axis=1) for k in range(len(self.symbols))], axis=1)
        counts = torch.as_tensor(counts, dtype=torch.float64)
        return (counts @ self.factors) ** 2 / counts.sum(dim=1, keepdim=True)


class SineTransform:
    """F(Q) on the settings' Q grid to G(r) on ``r``: 2/pi Qstep sum_Q F(Q) sin(Q r), times the Qdamp envelope."""

    def __init__(self, settings: PDFSettings, r: np.ndarray, dtype: torch.dtype = torch.float64) -> None:
        self.settings = settings
        self.dtype = dtype
        self.q = torch.as_tensor(settings.q_grid())
        self.r = torch.as_tensor(np.asarray(r, dtype=float))
        envelope = torch.exp(-0.5 * (settings.qdamp * self.r) ** 2)
        sine = (2 / np.pi) * settings.qstep * torch.sin(self.q[:, None] * self.r[None, :]) * envelope[None, :]
        self.matrix = sine.to(dtype)

    def __call__(self, fq: torch.Tensor) -> torch.Tensor:
        """G(r) of F(Q) (last axis Q)."""
        return fq.to(self.dtype) @ self.matrix

    def pair_terms(self, distance: torch.Tensor, sigma2: torch.Tensor, amplitude: torch.Tensor) -> torch.Tensor:
        """Pair terms of N <f>^2 F(Q), pairs x Q: ``amplitude`` (pairs x Q) sin(Q r) / r exp(-sigma^2 Q^2 / 2)."""
        q = self.q
        damping = torch.exp(-0.5 * sigma2[:, None] * q[None, :] ** 2)
        return amplitude * damping * torch.sin(q[None, :] * distance[:, None]) / distance[:, None]


class DebyeCluster:
    """A cluster's pair table on an r grid, for repeated G(r) evaluations with changing zoom, widths and Biso."""

    def __init__(self, xyz: np.ndarray, elements: list[str] | np.ndarray, transform: SineTransform) -> None:
        if len(xyz) < 2:
            raise ValueError("a PDF needs at least two atoms")
        self.xyz = np.asarray(xyz, dtype=float)
        self.elements = np.asarray(elements)
        self.transform = transform
        self.table = ElementTable(self.elements, transform.settings)
        self.i, self.j, self.distance = pair_table(self.xyz)
        a, b = self.table.index[self.i], self.table.index[self.j]
        self.amplitude = 2 * self.table.factors[a] * self.table.factors[b]
        self.norm = self.table.norm(np.ones((1, len(self.xyz)), dtype=bool))[0]

    def gr(self, zoom: float | tuple[float, float, float] = 1.0, settings: PDFSettings | None = None) -> np.ndarray:
        """G(r) with all distances scaled by ``zoom``, or the x, y, z axes by (a, b, c); ``settings`` overrides the
        widths and Biso (its Q grid and scattering must be the transform's)."""
        settings = self.transform.settings if settings is None else settings
        if np.ndim(zoom) == 0:
            d = torch.as_tensor(self.distance * float(zoom))
        else:
            zoomed = self.xyz * np.asarray(zoom, dtype=float)
            d = torch.as_tensor(np.linalg.norm(zoomed[self.i] - zoomed[self.j], axis=1))
        u = torch.as_tensor(settings.uiso(self.elements))
        sigma2 = (u[self.i] + u[self.j]) * settings.sharpening(d)
        fq = self.transform.pair_terms(d, sigma2, self.amplitude).sum(dim=0) / self.norm
        return self.transform(fq).to(torch.float64).numpy()


def debye_gr(
    xyz: np.ndarray,
    elements: list[str] | np.ndarray,
    settings: PDFSettings,
    r: np.ndarray,
    zoom: float | tuple[float, float, float] = 1.0,
) -> np.ndarray:
    """G(r) of a cluster by the Debye equation; ``zoom`` scales all distances or (a, b, c) the x, y, z axes."""
    return DebyeCluster(xyz, elements, SineTransform(settings, r)).gr(zoom)
