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
SUFFIXES = (".sps", *BECQUEREL_SUFFIXES)
CALIBRATION_POLICIES = ("skip", "default")


class SpectrumError(ValueError):
    """A spectrum file that cannot be used: the message names the file and the problem."""


@dataclass
class Spectrum:
    """One measured or simulated spectrum: counts per channel, times, distance and linear energy calibration."""

    counts: np.ndarray
    live_time: float
    real_time: float
    distance_cm: float
    calibration: tuple[float, float] = XGD_CALIBRATION
    name: str = ""
    start_time: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def channel_energies(self) -> np.ndarray:
        """Energy (keV) of each channel's lower edge and the upper edge of the last: E = c0 * channel + c1."""
        c0, c1 = self.calibration
        return c0 * np.arange(len(self.counts) + 1) + c1


def check_measurement(spectrum: Spectrum, path: str | os.PathLike[str]) -> Spectrum:
    """``spectrum`` as read from ``path`` once its measurement makes physical sense; every reader ends with it.

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
    """Write ``spectrum`` as an XGD ``.sps`` file (live and real time rounded to whole seconds)."""
    counts = np.asarray(spectrum.counts)
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
    """Read an XGD ``.sps`` file; raise :class:`SpectrumError` naming the file for anything that does not fit
    (measurement checks: :func:`check_measurement`).

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
    spectrum = Spectrum(
        counts=counts,
        live_time=float(live_time),
        real_time=float(real_time),
        distance_cm=float(distance),
        calibration=(float(c0), float(c1)),
        name=path.name,
        notes=notes,
    )
    return check_measurement(spectrum, path)


def read_with_becquerel(path: str | os.PathLike[str], distance_cm: float) -> Spectrum:
    """Read a spectrum of another format (SPE, CNF, SPC, IEC 1455) through becquerel into a :class:`Spectrum`.

    The energy calibration must be linear (becquerel's polynomial of order 1); the source distance, which these
    formats do not hold, is ``distance_cm``.
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
    widths = np.diff(edges)
    if not np.allclose(widths, widths[0], rtol=1e-6):
        raise SpectrumError(f"{path}: the energy calibration is not linear")
    counts = np.asarray(spec.counts_vals)
    spectrum = Spectrum(
        counts=np.rint(counts).astype(np.int64),
        live_time=float(spec.livetime),
        real_time=float(spec.realtime or spec.livetime),
        distance_cm=float(distance_cm),
        calibration=(float(widths[0]), float(edges[0])),
        name=path.name,
        start_time=spec.start_time,
    )
    return check_measurement(spectrum, path)


def read_spectrum(
    path: str | os.PathLike[str],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
    distance_cm: float = 10.0,
) -> Spectrum:
    """Read one spectrum of any supported format; ``distance_cm`` is used where the format holds no distance."""
    suffix = Path(path).suffix.lower()
    if suffix == ".sps":
        return read_sps(path, calibration_policy, default_calibration)
    if suffix in BECQUEREL_SUFFIXES:
        return read_with_becquerel(path, distance_cm)
    raise SpectrumError(f"{path}: unsupported format {suffix!r} (supported: {', '.join(SUFFIXES)})")


def spectrum_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The spectrum files (any supported suffix) directly in ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def read_spectra(
    paths: list[Path],
    calibration_policy: str = "skip",
    default_calibration: tuple[float, float] | None = None,
    distance_cm: float = 10.0,
) -> tuple[list[Spectrum], pd.DataFrame]:
    """Read ``paths``; corrupt files are left out (never deleted) and listed in a rejects table (file, problem)."""
    if calibration_policy not in CALIBRATION_POLICIES:
        raise ValueError(f"calibration policy must be one of {CALIBRATION_POLICIES}, got {calibration_policy!r}")
    spectra, rejects = [], []
    for path in paths:
        try:
            spectra.append(read_spectrum(path, calibration_policy, default_calibration, distance_cm))
        except (SpectrumError, OSError) as error:
            rejects.append({"file": str(path), "problem": str(error)})
    return spectra, pd.DataFrame(rejects, columns=["file", "problem"])
