"""The Debye-equation PDF of a finite cluster, shared by every fitting engine.

F(Q) = 1/(N <f>^2) sum_{i != j} f_i f_j sin(Q z d_ij) / (z d_ij) * exp(-sigma_ij^2 Q^2 / 2) is summed on a Q grid from
Qmin to Qmax and sine-transformed, G(r) = 2/pi int F(Q) sin(Q r) dQ (trapezoid rule), then damped by the
instrument envelope exp(-(Qdamp r)^2 / 2). The pair width is sigma_ij^2 = (U_i + U_j)(1 - delta2 / d^2) + Qbroad^2 d^2
with U = Biso / (8 pi^2) and d the unzoomed distance. Scattering weights f are Q-independent: the atomic number
(x-ray, f at Q = 0) or the coherent neutron scattering length. N and <f> are those of the cluster evaluated, so a
cut-out's G(r) is normalised by its own composition, (sum f)^2 / N.

Differences from diffpy.srreal's DebyePDFCalculator: srreal uses Q-dependent x-ray form factors (normalised per Q),
evaluates F(Q) on its own Q grid and Fourier transforms it by FFT with zero padding before interpolating to the r
grid; here the sine transform is evaluated directly on the data's r points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

# Atomic numbers, the x-ray scattering weight at Q = 0.
ATOMIC_NUMBER = {
    "H": 1, "B": 5, "C": 6, "N": 7, "O": 8, "F": 9, "Na": 11, "Mg": 12, "Al": 13, "Si": 14, "P": 15, "S": 16,
    "Cl": 17, "K": 19, "Ca": 20, "Ti": 22, "V": 23, "Cr": 24, "Mn": 25, "Fe": 26, "Co": 27, "Ni": 28, "Cu": 29,
    "Zn": 30, "Ge": 32, "Zr": 40, "Nb": 41, "Mo": 42, "Ru": 44, "Rh": 45, "Pd": 46, "Ag": 47, "Cd": 48, "Sn": 50,
    "Ce": 58, "Hf": 72, "Ta": 73, "W": 74, "Re": 75, "Ir": 77, "Pt": 78, "Au": 79, "Pb": 82, "Bi": 83,
}  # fmt: skip
# Coherent neutron scattering lengths in fm (Sears, Neutron News 3, 26 (1992)).
NEUTRON_LENGTH = {
    "H": -3.739, "B": 5.30, "C": 6.646, "N": 9.36, "O": 5.803, "F": 5.654, "Na": 3.63, "Mg": 5.375, "Al": 3.449,
    "Si": 4.1491, "P": 5.13, "S": 2.847, "Cl": 9.577, "K": 3.67, "Ca": 4.70, "Ti": -3.438, "V": -0.3824,
    "Cr": 3.635, "Mn": -3.73, "Fe": 9.45, "Co": 2.49, "Ni": 10.3, "Cu": 7.718, "Zn": 5.68, "Ge": 8.185, "Zr": 7.16,
    "Nb": 7.054, "Mo": 6.715, "Ru": 7.03, "Rh": 5.88, "Pd": 5.91, "Ag": 5.922, "Cd": 4.87, "Sn": 6.225, "Ce": 4.84,
    "Hf": 7.77, "Ta": 6.91, "W": 4.86, "Re": 9.2, "Ir": 10.6, "Pt": 9.60, "Au": 7.63, "Pb": 9.405, "Bi": 8.532,
}  # fmt: skip
SCATTERING = {"xray": ATOMIC_NUMBER, "neutron": NEUTRON_LENGTH}


@dataclass(frozen=True)
class PDFSettings:
    """Debye-model settings: Q range and step (1/A), resolution damping and broadening, Biso per element (A^2)."""

    qmin: float
    qmax: float
    qdamp: float
    qbroad: float
    biso: dict[str, float] = field(default_factory=dict)
    biso_default: float = 0.4
    scattering: str = "xray"
    qstep: float = 0.02
    delta2: float = 0.0

    def weights(self, elements: list[str] | np.ndarray) -> np.ndarray:
        """Scattering weight of each atom."""
        table = SCATTERING[self.scattering]
        unknown = sorted({e for e in elements if e not in table})
        if unknown:
            raise ValueError(f"no {self.scattering} scattering weight for element(s) {unknown}")
        return np.array([table[e] for e in elements], dtype=float)

    def uiso(self, elements: list[str] | np.ndarray) -> np.ndarray:
        """Isotropic mean-square displacement U = Biso / (8 pi^2) of each atom."""
        return np.array([self.biso.get(e, self.biso_default) for e in elements]) / (8 * np.pi**2)

    def q_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Q points from qmin to qmax (step at most qstep) and their trapezoid weights."""
        n = int(np.ceil((self.qmax - self.qmin) / self.qstep)) + 1
        q = np.linspace(self.qmin, self.qmax, n)
        w = np.full(n, q[1] - q[0])
        w[[0, -1]] *= 0.5
        return q, w

    @classmethod
    def from_config(cls, cfg: dict) -> PDFSettings:
        """Settings from the ``motifs.pdf`` config block."""
        return cls(
            qmin=cfg["qmin"],
            qmax=cfg["qmax"],
            qdamp=cfg["qdamp"],
            qbroad=cfg["qbroad"],
            biso=dict(cfg["biso"]),
            biso_default=cfg["biso_default"],
            scattering=cfg["scattering"],
            qstep=cfg["qstep"],
            delta2=cfg["delta2"],
        )


def composition_norm(weights: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """N <f>^2 = (sum f)^2 / N of each cut-out (rows of the boolean ``masks``)."""
    masks = np.atleast_2d(masks).astype(float)
    return (masks @ weights) ** 2 / masks.sum(axis=1)


def pair_table(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices i < j of every atom pair and their distances."""
    i, j = np.triu_indices(len(xyz), k=1)
    return i, j, np.linalg.norm(xyz[i] - xyz[j], axis=1)


class SineTransform:
    """The pair-term kernels on an r grid: G_p(r) = 2 w_p / d_p * 2/pi int sin(Q z d_p) e^{-s_p^2 Q^2/2} sin(Q r) dQ."""

    def __init__(self, settings: PDFSettings, r: np.ndarray, dtype: torch.dtype = torch.float64) -> None:
        self.settings = settings
        self.dtype = dtype
        q, w = settings.q_grid()
        self.q = torch.as_tensor(q, dtype=torch.float64)
        self.r = torch.as_tensor(np.asarray(r, dtype=float))
        sine = (2 / np.pi) * torch.as_tensor(w)[:, None] * torch.sin(self.q[:, None] * self.r[None, :])
        self.sine = sine.to(dtype)
        self.envelope = torch.exp(-0.5 * (settings.qdamp * self.r) ** 2).to(dtype)

    def kernels(
        self,
        distance: np.ndarray,
        msd: np.ndarray,
        weight: np.ndarray,
        zoom: float | np.ndarray = 1.0,
        delta2: float | None = None,
    ) -> torch.Tensor:
        """Kernels (pairs x r) of pairs at unzoomed ``distance`` with summed ``msd`` and weight f_i f_j, counted twice.

        ``zoom`` is one factor or one per pair; the width is that of the unzoomed distance. Each pair's term of
        N <f>^2 F(Q) is sine-transformed onto r and damped by the Qdamp envelope."""
        s = self.settings
        d = torch.as_tensor(distance, dtype=torch.float64)
        sharpening = 1.0 - (s.delta2 if delta2 is None else delta2) / d**2
        sigma2 = torch.as_tensor(msd) * sharpening + (s.qbroad * d) ** 2
        dz = d * torch.as_tensor(zoom, dtype=torch.float64)
        fq = torch.sin(self.q[None, :] * dz[:, None]) * torch.exp(-0.5 * sigma2[:, None] * self.q[None, :] ** 2)
        fq = fq * (2 * torch.as_tensor(weight) / dz)[:, None]
        return (fq.to(self.dtype) @ self.sine) * self.envelope


class DebyeCluster:
    """A cluster's pair table and Debye-Waller-damped pair amplitudes, kept between G(r) evaluations (a fit changes
    only zoom and, rarely, delta2)."""

    def __init__(self, xyz: np.ndarray, elements: list[str] | np.ndarray, transform: SineTransform) -> None:
        if len(xyz) < 2:
            raise ValueError("a PDF needs at least two atoms")
        settings = transform.settings
        self.xyz = np.asarray(xyz, dtype=float)
        self.transform = transform
        f = settings.weights(elements)
        u = settings.uiso(elements)
        self.i, self.j, self.distance = pair_table(self.xyz)
        self.msd, self.weight = u[self.i] + u[self.j], f[self.i] * f[self.j]
        self.norm = f.sum() ** 2 / len(f)
        self._amplitude: tuple[float, torch.Tensor] | None = None

    def amplitude(self, delta2: float) -> torch.Tensor:
        """2 f_i f_j exp(-sigma_ij^2 Q^2 / 2) of every pair (pairs x Q) for ``delta2``."""
        if self._amplitude is None or self._amplitude[0] != delta2:
            d = torch.as_tensor(self.distance)
            sigma2 = torch.as_tensor(self.msd) * (1.0 - delta2 / d**2) + (self.transform.settings.qbroad * d) ** 2
            q = self.transform.q
            damping = torch.exp(-0.5 * sigma2[:, None] * q[None, :] ** 2)
            self._amplitude = (delta2, damping * (2 * torch.as_tensor(self.weight))[:, None])
        return self._amplitude[1]

    def gr(self, zoom: float | tuple[float, float, float] = 1.0, delta2: float | None = None) -> np.ndarray:
        """G(r) with all distances scaled by ``zoom``, or the x, y, z axes by (a, b, c)."""
        delta2 = self.transform.settings.delta2 if delta2 is None else delta2
        if np.ndim(zoom) == 0:
            dz = torch.as_tensor(self.distance * float(zoom))
        else:
            zoomed = self.xyz * np.asarray(zoom, dtype=float)
            dz = torch.as_tensor(np.linalg.norm(zoomed[self.i] - zoomed[self.j], axis=1))
        fq = (torch.sin(self.transform.q[None, :] * dz[:, None]) * self.amplitude(delta2) / dz[:, None]).sum(0)
        g = (fq.to(self.transform.dtype) @ self.transform.sine) * self.transform.envelope
        return (g / self.norm).to(torch.float64).numpy()


def debye_gr(
    xyz: np.ndarray,
    elements: list[str] | np.ndarray,
    settings: PDFSettings,
    r: np.ndarray,
    zoom: float | tuple[float, float, float] = 1.0,
    delta2: float | None = None,
) -> np.ndarray:
    """G(r) of a cluster by the Debye equation; ``zoom`` scales all distances or (a, b, c) the x, y, z axes."""
    return DebyeCluster(xyz, elements, SineTransform(settings, r)).gr(zoom, delta2)
