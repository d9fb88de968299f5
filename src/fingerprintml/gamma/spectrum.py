"""Spectra in and out: the XGD ``.sps`` binary format, other formats through becquerel, corrupt files reported.

``.sps`` layout (little-endian): int16 channel count at byte 0; int32 live time (s) at 301; int32 real time (s)
at 305; float32 source distance (cm) at 342; float32 calibration coefficients c0, c1 at 440 (E = c0 * channel + c1,
keV); int32 counts per channel from byte 1024. Bytes not named here are zero in the files this module writes.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from fingerprintml.io import atomic_path

XGD_CALIBRATION = (1.31787, 0.12514)
HEADER_BYTES = 1024
OFFSETS = {"channels": 0, "live_time": 301, "real_time": 305, "distance": 342, "calibration": 440}
# Formats becquerel 0.7 reads (Spectrum.from_file): Ortec SPE, Canberra CNF, Ortec SPC, IEC 1455, becquerel HDF5.
BECQUEREL_SUFFIXES = (".spe", ".cnf", ".spc", ".iec", ".h5")
# Readers of fingerprintml.gamma.formats: OpenGamma's Plotly HTML, ANSI N42.42 XML; a PyRIID SampleSet is an .h5.
N42_SUFFIXES = (".n42", ".xml")
SUFFIXES = (".sps", *BECQUEREL_SUFFIXES, ".html", *N42_SUFFIXES)
CALIBRATION_POLICIES = ("skip", "default")


class SpectrumError(ValueError):
    """A spectrum file that cannot be used: the message names the file and the problem."""


@dataclass
class Spectrum:
    """One measured or simulated spectrum: counts per channel, times, distance and energy calibration.

    The calibration gives the energy (keV) of each channel's lower edge: ``calibration`` = (c0, c1) is its linear
    part (E = c0 * channel + c1, the XGD ``.sps`` convention) and ``higher_order`` the coefficients of channel**2,
    channel**3, ... of a polynomial calibration (empty: linear). ``background`` holds background counts on the same
    channels where the file gives them (as the file gives them: see the reader for its scaling); ``detector`` is
    the detector the file names ('' when it names none).
    """

    counts: np.ndarray
    live_time: float
    real_time: float
    distance_cm: float
    calibration: tuple[float, float] = XGD_CALIBRATION
    name: str = ""
    start_time: datetime | None = None
    notes: list[str] = field(default_factory=list)
    higher_order: tuple[float, ...] = ()
    background: np.ndarray | None = None
    detector: str = ""

    @property
    def polynomial(self) -> tuple[float, ...]:
        """Calibration coefficients in increasing powers of the channel: (c1, c0, *higher_order)."""
        c0, c1 = self.calibration
        return (c1, c0, *self.higher_order)

    @property
    def channel_energies(self) -> np.ndarray:
        """Energy (keV) of each channel's lower edge and the upper edge of the last."""
        return channel_edges(len(self.counts), self.calibration, self.higher_order)


def channel_edges(
    n_channels: int, calibration: tuple[float, float], higher_order: tuple[float, ...] = ()
) -> np.ndarray:
    """The ``n_channels + 1`` channel-edge energies (keV) of the calibration E = c1 + c0 * ch + sum h_k ch**(k+2)."""
    c0, c1 = calibration
    return np.polynomial.polynomial.polyval(np.arange(n_channels + 1, dtype=float), (c1, c0, *higher_order))


def polynomial_calibration(
    path: str | os.PathLike[str], coefficients: list[float], n_channels: int
) -> tuple[tuple[float, float], tuple[float, ...]]:
    """``(calibration, higher_order)`` of :class:`Spectrum` from polynomial ``coefficients`` (increasing powers of
    the channel, keV; trailing zeros dropped); raise :class:`SpectrumError` naming ``path`` unless the channel
    edges rise over all ``n_channels``."""
    values = [float(c) for c in coefficients]
    while len(values) > 2 and values[-1] == 0.0:
        values.pop()
    if len(values) < 2 or not np.all(np.isfinite(values)):
        raise SpectrumError(f"{path}: unusable energy calibration coefficients {list(coefficients)}")
    calibration, higher_order = (values[1], values[0]), tuple(values[2:])
    edges = channel_edges(n_channels, calibration, higher_order)
    if not np.all(np.diff(edges) > 0):
        raise SpectrumError(
            f"{path}: the energy calibration {values} does not rise over the {n_channels} channels "
            f"(from {edges[0]:.1f} to {edges[-1]:.1f} keV)"
        )
    return calibration, higher_order


def calibration_from_energies(
    path: str | os.PathLike[str], energies: np.ndarray, n_channels: int, tolerance_kev: float, max_order: int = 3
) -> tuple[tuple[float, float], tuple[float, ...]]:
    """The lowest-order polynomial calibration of ``n_channels`` channels (as :func:`polynomial_calibration`
    returns it) that reproduces ``energies`` (keV of the lower edges of channels 0, 1, ... as a file gives them)
    within ``tolerance_kev``; raise :class:`SpectrumError` naming ``path`` when no order up to ``max_order`` does."""
    energies = np.asarray(energies, dtype=float)
    channels = np.arange(len(energies), dtype=float)
    scale = max(len(energies) - 1, 1)  # fit in channel / scale, then rescale: well conditioned at any order
    worst = np.inf
    for order in range(1, max_order + 1):
        scaled = np.polynomial.polynomial.polyfit(channels / scale, energies, order)
        worst = float(np.abs(np.polynomial.polynomial.polyval(channels / scale, scaled) - energies).max())
        if worst <= tolerance_kev:
            coefficients = scaled / scale ** np.arange(order + 1)
            return polynomial_calibration(path, list(coefficients), n_channels)
    raise SpectrumError(
        f"{path}: the channel energies follow no polynomial of order <= {max_order} "
        f"(worst residual {worst:.3g} keV > {tolerance_kev:.3g} keV)"
    )


def check_measurement(spectrum: Spectrum, path: str | os.PathLike[str]) -> Spectrum:
    """``spectrum`` as read from ``path`` once its measurement makes physical sense; every spectrum that
    :func:`read_spectrum_file` returns has passed it.

    A live time that is not positive and finite is a :class:`SpectrumError` (no count rate exists). A source distance
    that is not positive and finite (0, negative, NaN: often unset in background files) becomes NaN with a note:
    the spectrum is still classified, but no activity is computed from it (never an activity of 0 +- 0).
    """
    if not (np.isfinite(spectrum.live_time) and spectrum.live_time > 0):
        raise SpectrumError(f"{path}: live time {spectrum.live_time} s is not positive and finite")
    if not (np.isfinite(spectrum.distance_cm) and spectrum.distance_cm > 0):
        spectrum.notes.append(
            f"source distance {spectrum.distance_cm} cm is not positive and finite: classified, no activity computed"
        )
        spectrum.distance_cm = float("nan")
    return spectrum


def write_sps(spectrum: Spectrum, path: str | os.PathLike[str]) -> None:
    """Write ``spectrum`` as an XGD ``.sps`` file (live and real time rounded to whole seconds); ``.sps`` holds
    only a linear calibration, so a spectrum with a polynomial one is refused."""
    counts = np.asarray(spectrum.counts)
    if any(spectrum.higher_order):
        raise ValueError(f"{path}: .sps holds a linear calibration only, not {spectrum.polynomial}")
    if len(counts) > np.iinfo(np.int16).max:
        raise ValueError(f"{path}: {len(counts)} channels do not fit the int16 channel count of .sps")
    header = bytearray(HEADER_BYTES)
    struct.pack_into("<h", header, OFFSETS["channels"], len(counts))
    struct.pack_into("<i", header, OFFSETS["live_time"], round(spectrum.live_time))
    struct.pack_into("<i", header, OFFSETS["real_time"], round(spectrum.real_time))
    struct.pack_into("<f", header, OFFSETS["distance"], spectrum.distance_cm)
    struct.pack_into("<2f", header, OFFSETS["calibration"], *spectrum.calibration)
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(header) + counts.astype("<i4").tobytes())


def read_sps(
    path: str | os.PathLike[str],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
) -> Spectrum:
    """Read an XGD ``.sps`` file; raise :class:`SpectrumError` naming the file for anything that does not fit.

    A zero (or non-finite) calibration is an error under ``calibration_policy='skip'``; under ``'default'`` the
    ``default_calibration`` is used and a note says so.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < HEADER_BYTES:
        raise SpectrumError(f"{path}: truncated, {len(data)} bytes is shorter than the {HEADER_BYTES}-byte header")
    (n_channels,) = struct.unpack_from("<h", data, OFFSETS["channels"])
    available = (len(data) - HEADER_BYTES) // 4
    if n_channels <= 0 or n_channels > available:
        raise SpectrumError(
            f"{path}: channel count {n_channels} does not fit the file (room for {available} after the header)"
        )
    (live_time,) = struct.unpack_from("<i", data, OFFSETS["live_time"])
    (real_time,) = struct.unpack_from("<i", data, OFFSETS["real_time"])
    (distance,) = struct.unpack_from("<f", data, OFFSETS["distance"])
    c0, c1 = struct.unpack_from("<2f", data, OFFSETS["calibration"])
    notes = []
    if not (np.isfinite(c0) and np.isfinite(c1)) or c0 <= 0:
        if calibration_policy != "default" or default_calibration is None:
            raise SpectrumError(f"{path}: unusable energy calibration c0={c0}, c1={c1}")
        notes.append(f"calibration c0={c0}, c1={c1} replaced by the default {tuple(default_calibration)}")
        c0, c1 = default_calibration
    counts = np.frombuffer(data, dtype="<i4", count=n_channels, offset=HEADER_BYTES).astype(np.int64)
    if (counts < 0).any():
        raise SpectrumError(f"{path}: negative counts in {int((counts < 0).sum())} channels")
    return Spectrum(
        counts=counts,
        live_time=float(live_time),
        real_time=float(real_time),
        distance_cm=float(distance),
        calibration=(float(c0), float(c1)),
        name=path.name,
        notes=notes,
    )


def read_with_becquerel(path: str | os.PathLike[str], distance_cm: float) -> Spectrum:
    """Read a spectrum of another format (SPE, CNF, SPC, IEC 1455) through becquerel into a :class:`Spectrum`.

    The energy calibration is used as the file gives it: the lowest-order polynomial (up to cubic) that reproduces
    becquerel's channel edges within 1e-6 of the energy range; a calibration that is no polynomial, or none at all,
    is an error. The source distance, which these formats do not hold, is ``distance_cm``.
    """
    import becquerel

    path = Path(path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # becquerel prints a line per file read
            spec = becquerel.Spectrum.from_file(str(path))
    except Exception as error:  # becquerel raises its own parser errors, ValueError and AssertionError
        raise SpectrumError(f"{path}: becquerel could not read it: {error}") from error
    if spec.livetime is None:
        raise SpectrumError(f"{path}: no live time")
    if not spec.is_calibrated:
        raise SpectrumError(f"{path}: no energy calibration")
    edges = np.asarray(spec.bin_edges_kev, dtype=float)
    calibration, higher_order = calibration_from_energies(path, edges, len(edges) - 1, 1e-6 * float(np.ptp(edges)))
    counts = np.asarray(spec.counts_vals)
    return Spectrum(
        counts=np.rint(counts).astype(np.int64),
        live_time=float(spec.livetime),
        real_time=float(spec.realtime or spec.livetime),
        distance_cm=float(distance_cm),
        calibration=calibration,
        name=path.name,
        start_time=spec.start_time,
        higher_order=higher_order,
    )


def read_spectrum_file(
    path: str | os.PathLike[str],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
    distance_cm: float = 10.0,
) -> list[Spectrum]:
    """Read every spectrum of one file of any supported format (an N42 file or a PyRIID SampleSet may hold
    several); ``distance_cm`` is used where the format holds no distance."""
    from fingerprintml.gamma import formats

    suffix = Path(path).suffix.lower()
    if suffix == ".sps":
        spectra = [read_sps(path, calibration_policy, default_calibration)]
    elif suffix == ".html":
        spectra = [formats.read_plotly_html(path, distance_cm=distance_cm)]
    elif suffix in N42_SUFFIXES:
        spectra = formats.read_n42(path, distance_cm)
    elif suffix == ".h5" and formats.is_sampleset(path):
        spectra = formats.read_sampleset(path)
    elif suffix in BECQUEREL_SUFFIXES:
        spectra = [read_with_becquerel(path, distance_cm)]
    else:
        raise SpectrumError(f"{path}: unsupported format {suffix!r} (supported: {', '.join(SUFFIXES)})")
    return [check_measurement(spectrum, path) for spectrum in spectra]


def read_spectrum(
    path: str | os.PathLike[str],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
    distance_cm: float = 10.0,
) -> Spectrum:
    """Read the one spectrum of a file of any supported format (see :func:`read_spectrum_file`); a file holding
    several is an error."""
    spectra = read_spectrum_file(path, calibration_policy, default_calibration, distance_cm)
    if len(spectra) != 1:
        raise SpectrumError(f"{path}: holds {len(spectra)} spectra, not one (read_spectrum_file reads them all)")
    return spectra[0]


def spectrum_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The spectrum files (any supported suffix) directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_spectra(
    paths: list[Path],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
    distance_cm: float = 10.0,
) -> tuple[list[Spectrum], pd.DataFrame]:
    """Read every spectrum of ``paths`` (a file may hold several: :func:`read_spectrum_file`); corrupt files are
    left out (never deleted) and listed in a rejects table (file, problem)."""
    if calibration_policy not in CALIBRATION_POLICIES:
        raise ValueError(f"calibration policy must be one of {CALIBRATION_POLICIES}, got {calibration_policy!r}")
    spectra, rejects = [], []
    for path in paths:
        try:
            spectra.extend(read_spectrum_file(path, calibration_policy, default_calibration, distance_cm))
        except (SpectrumError, OSError) as error:
            rejects.append({"file": str(path), "problem": str(error)})
    return spectra, pd.DataFrame(rejects, columns=["file", "problem"])
