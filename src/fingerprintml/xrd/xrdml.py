"""Malvern Panalytical XRDML: the XML scan files of Panalytical diffractometers (Aeris, Empyrean, X'Pert).

No maintained library on the project's registries reads them (xrdtools and xrayutilities each carry a parser inside
a large package), so this is a small parser (the standard library's ElementTree) after the XRDML schema (``http://www.xrdml.com/XRDMeasurement/<v>``):
per ``scan`` a ``dataPoints`` element holds ``positions`` of each axis (``startPosition``/``endPosition`` for
equidistant points or ``listPositions``) and the detector's ``counts`` or ``intensities``; the measurement's
``usedWavelength`` gives K-alpha1, K-alpha2 and their intensity ratio.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingerprintml.xrd.patterns import PatternReadError


class XrdmlError(PatternReadError):
    """An XRDML file that gives no usable pattern."""


@dataclass(frozen=True)
class XrdmlScan:
    """One two-theta scan: angles (deg), counts per point, and the radiation the file declares (angstrom)."""

    two_theta: np.ndarray
    counts: np.ndarray
    kalpha1: float
    kalpha2: float | None
    kalpha2_ratio: float | None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _float(element: ElementTree.Element | None) -> float | None:
    if element is None or element.text is None or not element.text.strip():
        return None
    return float(element.text)


def read_xrdml(path: str | os.PathLike[str]) -> XrdmlScan:
    """The two-theta scan of an XRDML file (the first ``scan`` with a 2Theta axis; further scans are ignored).

    Counts are ``counts`` as given, or ``intensities`` (counts per second) times the counting time when only those
    are stored. Raises :class:`XrdmlError` naming the file and the problem.
    """
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise XrdmlError(f"{path.name}: not readable as XML ({error})") from error
    wavelength = next((e for e in root.iter() if _local(e.tag) == "usedWavelength"), None)
    kalpha1 = _float(_child(wavelength, "kAlpha1")) if wavelength is not None else None
    if kalpha1 is None:
        raise XrdmlError(f"{path.name}: no usedWavelength/kAlpha1")
    points = None
    for scan in (e for e in root.iter() if _local(e.tag) == "scan"):
        points = _child(scan, "dataPoints")
        axes = {} if points is None else {c.get("axis"): c for c in points if _local(c.tag) == "positions"}
        if "2Theta" in axes:
            break
    else:
        raise XrdmlError(f"{path.name}: no scan with a 2Theta axis")
    values = _child(points, "counts")
    scale = 1.0
    if values is None:
        values = _child(points, "intensities")
        time = _float(_child(points, "commonCountingTime"))
        scale = time if time else 1.0
    if values is None or not (values.text or "").split():
        raise XrdmlError(f"{path.name}: no counts or intensities in the 2Theta scan")
    try:
        counts = np.array(values.text.split(), dtype=float) * scale
    except ValueError as error:
        raise XrdmlError(f"{path.name}: non-numeric counts ({error})") from error
    two_theta = _positions(path, axes["2Theta"], len(counts))
    if not np.isfinite(counts).all():
        raise XrdmlError(f"{path.name}: non-finite counts")
    return XrdmlScan(
        two_theta=two_theta,
        counts=counts,
        kalpha1=kalpha1,
        kalpha2=_float(_child(wavelength, "kAlpha2")),
        kalpha2_ratio=_float(_child(wavelength, "ratioKAlpha2KAlpha1")),
    )


def _positions(path: Path, positions: ElementTree.Element, size: int) -> np.ndarray:
    listed = _child(positions, "listPositions")
    if listed is not None:
        two_theta = np.array((listed.text or "").split(), dtype=float)
    else:
        start, end = _float(_child(positions, "startPosition")), _float(_child(positions, "endPosition"))
        if start is None or end is None:
            raise XrdmlError(f"{path.name}: 2Theta positions need startPosition and endPosition or listPositions")
        two_theta = np.linspace(start, end, size)
    if len(two_theta) != size:
        raise XrdmlError(f"{path.name}: {len(two_theta)} 2Theta positions for {size} counts")
    if size < 10:
        raise XrdmlError(f"{path.name}: only {size} data points")
    if not np.all(np.diff(two_theta) > 0):
        raise XrdmlError(f"{path.name}: 2Theta positions not increasing")
    return two_theta
