"""Readers of measured-spectrum formats beyond ``.sps`` and becquerel's: OpenGamma's Plotly HTML export, PyRIID's
SampleSet HDF5 and ANSI N42.42-2012 XML. Each gives :class:`~fingerprintml.gamma.spectrum.Spectrum` objects with the
file's own calibration (a polynomial of the order the file carries) or raises ``SpectrumError`` naming the file.

- Plotly HTML (Gamma MCA "Interactive Export", the OpenGamma spectrum database): ``Plotly.newPlot(id, traces,
  layout)`` with a 'Spectrum' trace, or a 'Background' and a 'Clean Spectrum' trace stacked (``stackgroup``) so
  that their sum is the measured spectrum. The counts read are that sum (the gross measurement); the 'Background'
  trace goes to ``Spectrum.background`` as the file gives it. The energies (keV per channel, sometimes rounded to
  0.01 keV or written as strings) are turned into the lowest-order polynomial that reproduces them to their printed
  precision. The export holds no live time: it is ``live_time_s`` when given, else read from the page next to the
  file (``<stem>.md``, the database's page: "5 minute measurement with a High Purity Germanium (HPGe) radiation
  detector"), which also names the detector.
- PyRIID SampleSet HDF5 (pandas/PyTables 'frame' groups ``spectra``, ``info``, ``sources``): read with PyTables
  numeric block by block; the pickled object blocks (description, timestamp, detector info) are not unpickled, as
  unpickling a downloaded file can run code. Energy of channel i's lower edge: offset + gain x + quadratic x**2 +
  cubic x**3 + low_e / (1 + 60 x) with x = i / (n - 1) (PyRIID ``SampleSet.get_channel_energies``).
- N42.42 XML: every ``RadMeasurement/Spectrum`` with its ``ChannelData`` (``compressionCode="CountedZeroes"``
  expanded), ``LiveTimeDuration`` and the measurement's ``RealTimeDuration`` (ISO 8601 durations) and the
  ``EnergyCalibration/CoefficientValues`` it references (E = c0 + c1 ch + c2 ch**2 + c3 ch**3 at the lower edge).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import tables

from fingerprintml.gamma.spectrum import (
    Spectrum,
    SpectrumError,
    calibration_from_energies,
    polynomial_calibration,
)

PLOTLY_CALL = "Plotly.newPlot("
PAGE_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(second|minute|hour)s?\s+measurement", re.IGNORECASE)
PAGE_DETECTOR = re.compile(r"measurement with an?\s+(.+?)\s+(?:radiation\s+)?detector", re.IGNORECASE)
SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
NUMBER = r"(\d+(?:\.\d+)?)"
ISO_DURATION = re.compile(rf"^P(?:{NUMBER}D)?(?:T(?:{NUMBER}H)?(?:{NUMBER}M)?(?:{NUMBER}S)?)?$")
SAMPLESET_GROUPS = ("spectra", "info", "sources")


def integer_counts(path: Path, values: np.ndarray, what: str) -> np.ndarray:
    """``values`` as int64 counts; an error naming ``path`` and ``what`` if any is negative or not whole."""
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or (values != np.rint(values)).any():
        raise SpectrumError(f"{path}: {what} are not whole counts")
    if (values < 0).any():
        raise SpectrumError(f"{path}: {what} have negative counts in {int((values < 0).sum())} channels")
    return np.rint(values).astype(np.int64)


def plotly_traces(path: Path, text: str) -> dict[str, dict]:
    """The traces of the first ``Plotly.newPlot(id, traces, ...)`` call in ``text``, by trace name."""
    start = text.find(PLOTLY_CALL)
    if start < 0:
        raise SpectrumError(f"{path}: no Plotly figure (no {PLOTLY_CALL!r} call)")
    after_id = text.find(",", start)
    try:
        traces, _ = json.JSONDecoder().raw_decode(text[after_id + 1 :].lstrip())
    except json.JSONDecodeError as error:
        raise SpectrumError(f"{path}: the Plotly traces are not valid JSON: {error}") from error
    if not isinstance(traces, list) or not all(isinstance(t, dict) for t in traces):
        raise SpectrumError(f"{path}: the Plotly figure has no list of traces")
    return {str(t.get("name", "")): t for t in traces}


def trace_values(path: Path, trace: dict, axis: str) -> np.ndarray:
    """The ``axis`` ('x' or 'y') values of ``trace`` as floats (numbers or numeric strings)."""
    try:
        return np.asarray([float(v) for v in trace[axis]], dtype=float)
    except (KeyError, TypeError, ValueError) as error:
        raise SpectrumError(f"{path}: trace {trace.get('name')!r} has no numeric {axis} values ({error})") from error


def printed_precision(values: np.ndarray) -> float:
    """The step to which ``values`` are rounded (0.01 for values with two decimals), at least 1e-6: a polynomial
    fitted by least squares to rounded values stays within one step of them, not always within half."""
    for decimals in range(7):
        scaled = values * 10.0**decimals
        if np.allclose(scaled, np.rint(scaled), rtol=0, atol=1e-6):
            return 10.0**-decimals
    return 1e-6


def page_measurement(path: Path, page: Path) -> tuple[float, str]:
    """Measurement time (s) and detector of the HTML export ``path`` from its OpenGamma ``page``: the sentence
    after the page's iframe of this file (a page may show several spectra), else the page's first."""
    if not page.is_file():
        raise SpectrumError(
            f"{path}: the export holds no live time; put its page {page} (saying 'N minute measurement') there, "
            "or pass live_time_s"
        )
    text = page.read_text(encoding="utf-8", errors="replace")
    frame = text.find(f'/{path.name}"')
    duration = PAGE_DURATION.search(text, max(frame, 0)) or PAGE_DURATION.search(text)
    if duration is None:
        raise SpectrumError(f"{page}: no 'N minute measurement' sentence to take the live time of {path.name} from")
    detector = PAGE_DETECTOR.search(text, duration.start())
    return float(duration.group(1)) * SECONDS[duration.group(2).lower()], detector.group(1) if detector else ""


def read_plotly_html(
    path: str | os.PathLike[str],
    live_time_s: float | None = None,
    distance_cm: float = 10.0,
    page: str | os.PathLike[str] | None = None,
) -> Spectrum:
    """Read a Gamma MCA / OpenGamma Plotly HTML export (see the module text for what is taken from where).

    Parameters: ``path`` the HTML file; ``live_time_s`` the live time when known, else it is read from ``page``
    (default ``<stem>.md`` next to the file); ``distance_cm`` the source distance, which the export does not hold.
    """
    path = Path(path)
    page = Path(page) if page is not None else path.with_suffix(".md")
    traces = plotly_traces(path, path.read_text(encoding="utf-8", errors="replace"))
    notes = []
    background = None
    if "Spectrum" in traces:
        measured = traces["Spectrum"]
        energies = trace_values(path, measured, "x")
        counts = integer_counts(path, trace_values(path, measured, "y"), "the 'Spectrum' values")
    elif {"Clean Spectrum", "Background"} <= traces.keys():
        energies = trace_values(path, traces["Clean Spectrum"], "x")
        if not np.array_equal(energies, trace_values(path, traces["Background"], "x")):
            raise SpectrumError(f"{path}: the 'Background' and 'Clean Spectrum' traces have different energies")
        clean = trace_values(path, traces["Clean Spectrum"], "y")
        background = integer_counts(path, trace_values(path, traces["Background"], "y"), "the 'Background' values")
        if len(clean) != len(background):
            raise SpectrumError(f"{path}: 'Background' and 'Clean Spectrum' differ in length")
        counts = integer_counts(path, clean + background, "'Clean Spectrum' + 'Background' (the measurement)")
        notes.append(
            f"counts = 'Clean Spectrum' + 'Background' (stacked traces; {int((clean < 0).sum())} channels of the "
            f"clean trace negative); background as the file gives it, {int(background.sum())} counts"
        )
    else:
        raise SpectrumError(
            f"{path}: no 'Spectrum' trace and no 'Background' + 'Clean Spectrum' pair (traces: {sorted(traces)})"
        )
    if len(energies) != len(counts) or len(counts) < 2:
        raise SpectrumError(f"{path}: {len(energies)} energies for {len(counts)} channels")
    calibration, higher_order = calibration_from_energies(path, energies, len(counts), printed_precision(energies))
    detector = ""
    if live_time_s is None:
        live_time_s, detector = page_measurement(path, page)
        notes.append(f"live time {live_time_s:g} s from the page {page.name}, used as real time")
    if not live_time_s > 0:
        raise SpectrumError(f"{path}: live time {live_time_s} s is not positive")
    return Spectrum(
        counts=counts,
        live_time=float(live_time_s),
        real_time=float(live_time_s),
        distance_cm=float(distance_cm),
        calibration=calibration,
        name=path.name,
        notes=notes,
        higher_order=higher_order,
        background=background,
        detector=detector,
    )


def frame_block_columns(path: Path, group) -> dict[str, np.ndarray]:
    """The numeric columns of a pandas/PyTables 'frame' group, block by block ({name: values per row}); object
    blocks (pickled) are skipped."""
    columns = {}
    for block in range(int(group._v_attrs.nblocks)):
        values = group._f_get_child(f"block{block}_values")
        if not isinstance(values, tables.Array) or isinstance(values, tables.VLArray) or values.dtype.kind not in "iuf":
            continue
        names = [v.decode() for v in group._f_get_child(f"block{block}_items").read()]
        array = values.read()
        if array.shape[1] != len(names):
            raise SpectrumError(f"{path}: block {block} of {group._v_pathname} has {array.shape[1]} columns")
        columns.update({name: array[:, k] for k, name in enumerate(names)})
    return columns


def sampleset_labels(path: Path, sources) -> list[str]:
    """Each row's seed (the source column with the largest share) from the ``sources`` frame; '' where none."""
    last = int(sources._v_attrs.block0_items_nlevels) - 1
    if last < 0:
        raise SpectrumError(f"{path}: /sources has no (Category, Isotope, Seed) column index")
    names = [v.decode() for v in sources._f_get_child(f"block0_items_level{last}").read()]
    codes = sources._f_get_child(f"block0_items_label{last}").read()
    shares = sources.block0_values.read()
    return [names[codes[row.argmax()]] if row.max() > 0 else "" for row in shares]


def sampleset_detector(path: Path) -> str:
    """The detector material from a GADRAS ``Detector.dat`` next to ``path`` ('' when there is none)."""
    detector_file = path.with_name("Detector.dat")
    if not detector_file.is_file():
        return ""
    found = re.search(r"<material>\s*([^<]+?)\s*</material>", detector_file.read_text(errors="replace"))
    return found.group(1) if found else ""


def is_sampleset(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an HDF5 file with a PyRIID SampleSet's groups (else it is left to becquerel)."""
    if not tables.is_hdf5_file(str(path)):
        return False
    with tables.open_file(str(path), "r") as store:
        return all(f"/{g}" in store for g in SAMPLESET_GROUPS)


def read_sampleset(path: str | os.PathLike[str]) -> list[Spectrum]:
    """Read every spectrum of a PyRIID SampleSet HDF5 file (counts, live/real time, distance, calibration, seed).

    Each spectrum is named ``<file>[<row>] <seed>`` (e.g. ``measurements.h5[16] Cs137 @ 111.8cm``).
    """
    path = Path(path)
    try:
        with tables.open_file(str(path), "r") as store:
            missing = [g for g in SAMPLESET_GROUPS if f"/{g}" not in store]
            if missing:
                raise SpectrumError(f"{path}: not a PyRIID SampleSet (no group {', '.join(missing)})")
            if int(store.root.spectra._v_attrs.nblocks) != 1:
                raise SpectrumError(f"{path}: /spectra is not one numeric block")
            spectra = store.root.spectra.block0_values.read()
            info = frame_block_columns(path, store.root.info)
            seeds = sampleset_labels(path, store.root.sources)
    except (OSError, tables.HDF5ExtError) as error:
        raise SpectrumError(f"{path}: not a readable HDF5 file ({error})") from error
    except (tables.NoSuchNodeError, AttributeError, KeyError, IndexError, TypeError, ValueError) as error:
        raise SpectrumError(f"{path}: not a PyRIID SampleSet layout ({error})") from error
    required = ["live_time", "real_time", "ecal_order_0", "ecal_order_1", "ecal_order_2", "ecal_order_3", "ecal_low_e"]
    lacking = [c for c in required if c not in info]
    if lacking:
        raise SpectrumError(f"{path}: the info table lacks {lacking}")
    n_samples, n_channels = spectra.shape
    if len(seeds) != n_samples or any(len(v) != n_samples for v in info.values()):
        raise SpectrumError(f"{path}: {n_samples} spectra but info/sources of other lengths")
    detector = sampleset_detector(path)
    read = []
    for row in range(n_samples):
        name = f"{path.name}[{row}] {seeds[row]}".rstrip()
        if info["ecal_low_e"][row] != 0:
            raise SpectrumError(f"{path}: spectrum {row} has a low-energy calibration term, not a polynomial")
        terms = np.array([info[f"ecal_order_{k}"][row] for k in range(4)], dtype=float)
        coefficients = terms / float(n_channels - 1) ** np.arange(4)  # x = channel / (n - 1)
        calibration, higher_order = polynomial_calibration(f"{path} spectrum {row}", list(coefficients), n_channels)
        live_time = float(info["live_time"][row])
        if not live_time > 0:
            raise SpectrumError(f"{path}: spectrum {row} has live time {live_time} s")
        read.append(
            Spectrum(
                counts=integer_counts(path, spectra[row], f"spectrum {row}'s values"),
                live_time=live_time,
                real_time=float(info["real_time"][row]),
                distance_cm=float(info.get("distance_cm", np.zeros(n_samples))[row]),
                calibration=calibration,
                name=name,
                higher_order=higher_order,
                detector=detector,
                notes=[f"PyRIID ecal terms {terms.tolist()} + low_e 0 over x = channel / {n_channels - 1}"],
            )
        )
    return read


def iso_duration_s(path: Path, text: str | None, what: str) -> float:
    """Seconds of an ISO 8601 duration such as ``PT59.61S`` or ``P1DT2H``; an error naming ``what`` otherwise."""
    found = ISO_DURATION.match((text or "").strip())
    if not found or not any(found.groups()):
        raise SpectrumError(f"{path}: {what} {text!r} is not an ISO 8601 duration")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def channel_data(path: Path, element) -> np.ndarray:
    """Counts of an N42 ``ChannelData`` element, with ``CountedZeroes`` compression expanded (a 0 is followed by
    the number of zero channels it stands for)."""
    try:
        values = np.array([float(v) for v in (element.text or "").split()])
    except ValueError as error:
        raise SpectrumError(f"{path}: ChannelData holds a non-number ({error})") from error
    if element.get("compressionCode", "None") == "CountedZeroes":
        expanded, k = [], 0
        while k < len(values):
            if values[k] == 0:
                if k + 1 >= len(values) or values[k + 1] != int(values[k + 1]) or values[k + 1] < 1:
                    raise SpectrumError(f"{path}: CountedZeroes data has a zero without a valid count after it")
                expanded.extend([0.0] * int(values[k + 1]))
                k += 2
            else:
                expanded.append(values[k])
                k += 1
        values = np.array(expanded)
    elif element.get("compressionCode", "None") != "None":
        raise SpectrumError(f"{path}: unsupported ChannelData compression {element.get('compressionCode')!r}")
    return integer_counts(path, values, "the ChannelData values")


def read_n42(path: str | os.PathLike[str], distance_cm: float = 10.0) -> list[Spectrum]:
    """Read every gamma spectrum of an ANSI N42.42-2012 file (``RadInstrumentData``): counts, live and real time,
    start time, polynomial energy calibration and detector kind; the source distance is ``distance_cm``.

    Each spectrum is named ``<file>`` when the file holds one, else ``<file>[<measurement id>/<spectrum id>]``.
    """
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()  # expat resolves no external entities
    except ElementTree.ParseError as error:
        raise SpectrumError(f"{path}: not well-formed XML ({error})") from error
    if root.tag.rsplit("}", 1)[-1] != "RadInstrumentData":
        raise SpectrumError(f"{path}: root element {root.tag!r} is not N42.42 RadInstrumentData")
    calibrations = {c.get("id"): c for c in root.iterfind("{*}EnergyCalibration")}
    detectors = {
        d.get("id"): d.findtext("{*}RadDetectorKindCode", "") for d in root.iterfind("{*}RadDetectorInformation")
    }
    found = [(m, s) for m in root.iterfind("{*}RadMeasurement") for s in m.iterfind("{*}Spectrum")]
    if not found:
        raise SpectrumError(f"{path}: no RadMeasurement/Spectrum")
    read = []
    for measurement, spectrum in found:
        label = f"{measurement.get('id', '?')}/{spectrum.get('id', '?')}"
        data = spectrum.find("{*}ChannelData")
        if data is None:
            raise SpectrumError(f"{path}: spectrum {label} has no ChannelData")
        counts = channel_data(path, data)
        reference = spectrum.get("energyCalibrationReference")
        calibration_element = calibrations.get(reference) if reference else next(iter(calibrations.values()), None)
        coefficients = calibration_element.findtext("{*}CoefficientValues") if calibration_element is not None else None
        if not coefficients:
            raise SpectrumError(f"{path}: spectrum {label} has no EnergyCalibration/CoefficientValues")
        try:
            values = [float(v) for v in coefficients.split()]
        except ValueError as error:
            raise SpectrumError(f"{path}: CoefficientValues {coefficients!r} are not numbers") from error
        calibration, higher_order = polynomial_calibration(f"{path} spectrum {label}", values, len(counts))
        live_time = iso_duration_s(path, spectrum.findtext("{*}LiveTimeDuration"), f"{label} LiveTimeDuration")
        if not live_time > 0:
            raise SpectrumError(f"{path}: spectrum {label} has live time {live_time} s")
        real_text = measurement.findtext("{*}RealTimeDuration")
        start = measurement.findtext("{*}StartDateTime")
        try:
            start_time = datetime.fromisoformat(start.strip()) if start else None
        except ValueError as error:
            raise SpectrumError(f"{path}: StartDateTime {start!r} of {label} is not ISO 8601") from error
        read.append(
            Spectrum(
                counts=counts,
                live_time=live_time,
                real_time=iso_duration_s(path, real_text, f"{label} RealTimeDuration") if real_text else live_time,
                distance_cm=float(distance_cm),
                calibration=calibration,
                name=path.name if len(found) == 1 else f"{path.name}[{label}]",
                start_time=start_time,
                higher_order=higher_order,
                detector=detectors.get(spectrum.get("radDetectorInformationReference"), ""),
                notes=[f"N42 {measurement.findtext('{*}MeasurementClassCode', '')} measurement {label}"],
            )
        )
    return read
