"""Atomic scattering factors of the PDF model: x-ray f(Q) and coherent neutron scattering lengths.

X-ray: the Waasmaier-Kirfel parametrisation (Acta Cryst. A51, 416 (1995)) as tabulated by xraydb (``xraydb.f0``,
q = sin(theta)/lambda = Q / 4 pi), the table srreal's x-ray scattering-factor table and DebyeCalculator use too;
xraydb is maintained and evaluates the table vectorised over Q. Neutron: the coherent scattering length b_c (fm) of
periodictable (Sears, Neutron News 3, 26 (1992), with NIST's updates).
"""

from __future__ import annotations

import numpy as np

KINDS = ("xray", "neutron")


def scattering_factors(symbols: list[str], q: np.ndarray, kind: str) -> np.ndarray:
    """Scattering factor of each element (rows) at each Q (1/A, columns): x-ray f(Q) or neutron b_c (fm)."""
    if kind not in KINDS:
        raise ValueError(f"scattering must be one of {KINDS}, not {kind!r}")
    import periodictable

    unknown = [s for s in symbols if not _is_element(periodictable, s)]
    if unknown:
        raise ValueError(f"no {kind} scattering factor for element(s) {sorted(unknown)}")
    q = np.asarray(q, dtype=float)
    if kind == "xray":
        import xraydb

        return np.stack([np.asarray(xraydb.f0(s, q / (4 * np.pi)), dtype=float) for s in symbols])
    lengths = [periodictable.elements.symbol(s).neutron.b_c for s in symbols]
    missing = [s for s, b in zip(symbols, lengths, strict=True) if b is None]
    if missing:
        raise ValueError(f"no neutron scattering length for element(s) {sorted(missing)}")
    return np.repeat(np.asarray(lengths, dtype=float)[:, None], len(q), axis=1)


def _is_element(periodictable, symbol: str) -> bool:
    try:
        return periodictable.elements.symbol(symbol).number > 0
    except ValueError:
        return False
