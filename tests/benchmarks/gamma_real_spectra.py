"""Every real spectrum of the `opengamma` (HPGe, Plotly HTML) and `baldr` (NaI(Tl), PyRIID SampleSet) data read
through the gamma readers, its calibration checked against physics: per file the detector, channels, live time,
calibration (order, coefficients), total counts, the strongest peaks found, and for each known line of the labelled
nuclide the nearest peak found, its residual and whether it lies within that peak's FWHM.

Peaks: scipy.signal.find_peaks on the counts smoothed by a Gaussian (``--smooth`` channels for HPGe, ``--smooth-nai``
for NaI), with the file's measured background subtracted where its live time is known (baldr: the SampleSet's
background spectrum scaled by live time; the opengamma background trace has no live time and is left), prominence at
least ``--significance`` times the Poisson sigma of the smoothed spectrum there; energy from a parabola through the
top three channels (channel centres), FWHM from the width at half prominence.

With ``--autocalibrate``, every spectrum with at least three known lines in range is also calibrated from its own
peaks with its calibration withheld (fingerprintml.gamma.autocalibrate: becquerel's peak finder and gain search over
0.05-5 keV/channel, then a quadratic for HPGe, linear for NaI) and the fitted calibration compared with the file's.

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/gamma_real_spectra.py [--mirror ../shared/mirror]
     [--autocalibrate]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from fingerprintml.download import fetch, load_registry
from fingerprintml.gamma.autocalibrate import calibrate_from_peaks
from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.spectrum import Spectrum, SpectrumError, read_spectrum_file

REPO = Path(__file__).resolve().parents[2]
# Strong gamma lines (keV) of the labelled nuclides that resources/gamma/lines.csv does not hold, for this check only
# (ENSDF via the IAEA LiveChart; the nuclide library itself is later work of issue #19).
EXTRA_LINES = {
    "Ba-133": [80.9979, 302.8508, 356.0129],
    "Co-57": [122.0607, 136.4736],
    "Bi-207": [569.698, 1063.656, 1770.228],
    "I-131": [364.490, 636.989],
    "Tc-99m": [140.511],
    "Lu-177": [112.9498, 208.3662],
}
# Natural samples and chain members: the chain whose lines lines.csv holds (U-232 decays through Th-228 to the lower
# Th-232 chain: Pb-212 238.6, Tl-208 583.2 and 2614.5 keV).
CHAIN = {
    "Pitchblende": "U-238",
    "RadiumDial": "U-238",
    "Uranium-glaze": "U-238",
    "Zeunerite": "U-238",
    "Fiestaware": "U-238",
    "CeramicPipe1820": "U-238",
    "Ra-226": "U-238",
    "ThoriumSource": "Th-232",
    "U-232": "Th-232",
}


def fetched(mirror: Path, downloads: Path, prefixes: tuple[str, ...]) -> list[Path]:
    """The declared files under ``prefixes`` fetched (verified) from ``mirror`` to ``downloads``, as the workflow
    lays them out."""
    registry = load_registry(REPO / "resources" / "remote_files.yaml")
    return [
        fetch(remote, downloads / key, mirror=str(mirror))
        for key, remote in sorted(registry.items())
        if key.startswith(prefixes)
    ]


def label(name: str) -> str:
    """The nuclide or chain whose lines a spectrum should show, from its name ('' for a background)."""
    stem = name.split("] ")[-1].split(" @")[0].removesuffix(".html")
    if stem[:2].isalpha() and stem[2:].isdigit():  # PyRIID seed isotopes: Cs137 -> Cs-137
        stem = f"{stem[:2]}-{stem[2:]}"
    elif stem[:1].isalpha() and stem[1:].isdigit():
        stem = f"{stem[:1]}-{stem[1:]}"
    return CHAIN.get(stem, "" if stem == "Background" else stem)


def peaks(spectrum: Spectrum, smooth: float, significance: float, background: Spectrum | None) -> pd.DataFrame:
    """Peaks found in ``spectrum`` less ``background`` scaled by live time (None: none): energy (keV), FWHM (keV)
    and significance, strongest first."""
    counts, variance = spectrum.counts.astype(float), spectrum.counts.astype(float)
    if background is not None:
        scale = spectrum.live_time / background.live_time
        counts, variance = counts - scale * background.counts, variance + scale**2 * background.counts
    counts = gaussian_filter1d(counts, smooth)
    sigma = np.sqrt(np.maximum(gaussian_filter1d(variance, smooth), 1.0))
    found, props = find_peaks(counts, prominence=significance * sigma, width=1.0, rel_height=0.5)
    inner = (found > 0) & (found < len(counts) - 1)
    found, prominence, width = found[inner], props["prominences"][inner], props["widths"][inner]
    left, top, right = counts[found - 1], counts[found], counts[found + 1]
    curvature = left - 2 * top + right
    offset = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    edges = spectrum.channel_energies
    centre = found + 0.5 + offset
    energy = np.interp(centre, np.arange(len(edges)), edges)
    keV_per_channel = np.interp(centre, np.arange(len(edges) - 1) + 0.5, np.diff(edges))
    table = pd.DataFrame(
        {"energy_kev": energy, "fwhm_kev": width * keV_per_channel, "significance": prominence / sigma[found]}
    )
    return table.sort_values("significance", ascending=False).reset_index(drop=True)


def known_lines(nuclide: str, library: pd.DataFrame) -> list[float]:
    """Strong (>= 5 %) gamma lines of ``nuclide`` from lines.csv, else from EXTRA_LINES ([] when neither)."""
    rows = library[(library["nuclide"] == nuclide) & (library["kind"] == "gamma") & (library["intensity"] >= 0.05)]
    return rows["energy_kev"].tolist() if len(rows) else EXTRA_LINES.get(nuclide, [])


def autocalibration(spectrum: Spectrum, lines: list[float]) -> dict[str, object]:
    """Calibrate ``spectrum`` from its peaks with its own calibration withheld; compare the two over the lines."""
    nai = spectrum.detector == "NaI"
    withheld = Spectrum(spectrum.counts, spectrum.live_time, spectrum.real_time, 0.0, (1.0, 0.0), spectrum.name)
    reference, fwhm = (220.0, 15.0) if nai else (3000.0, 6.0)
    try:
        fitted, residuals = calibrate_from_peaks(
            withheld,
            lines,
            reference,
            fwhm,
            order=1 if nai else 2,
            gain_range=(0.05, 5.0),
            de_max_kev=15.0 if nai else 3.0,
        )
    except SpectrumError as error:
        return {"spectrum": spectrum.name, "matched": 0, "problem": str(error).split(": ", 1)[1][:90]}
    span = (spectrum.channel_energies > min(lines) - 20) & (spectrum.channel_energies < max(lines) + 20)
    return {
        "spectrum": spectrum.name,
        "matched": len(residuals),
        "fitted": " ".join(f"{c:.6g}" for c in fitted.polynomial),
        "file": " ".join(f"{c:.6g}" for c in spectrum.polynomial),
        "max_residual_kev": residuals["residual_kev"].abs().max(),
        "max_vs_file_kev": np.abs(fitted.channel_energies - spectrum.channel_energies)[span].max(),
        "problem": "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "mirror")
    parser.add_argument("--downloads", type=Path, default=REPO / "resources" / "downloads")
    parser.add_argument("--smooth", type=float, default=1.5, help="Gaussian smoothing of HPGe spectra, channels")
    parser.add_argument("--smooth-nai", type=float, default=3.0, help="Gaussian smoothing of NaI spectra, channels")
    parser.add_argument("--significance", type=float, default=5.0)
    parser.add_argument("--strongest", type=int, default=5)
    parser.add_argument("--autocalibrate", action="store_true", help="also calibrate from peaks, calibration withheld")
    args = parser.parse_args()
    library = read_lines(REPO / "resources" / "gamma" / "lines.csv")
    paths = fetched(args.mirror, args.downloads, ("gamma/opengamma/", "gamma/baldr/"))
    spectra = [s for p in paths if p.suffix in (".html", ".h5") for s in read_spectrum_file(p)]
    backgrounds = {s.name.split("[")[0]: s for s in spectra if s.name.endswith("] Background")}
    files, checks, autocalibrated = [], [], []
    for spectrum in spectra:
        background = (
            backgrounds.get(spectrum.name.split("[")[0])
            if spectrum is not backgrounds.get(spectrum.name.split("[")[0])
            else None
        )
        smooth = args.smooth_nai if spectrum.detector == "NaI" else args.smooth
        found = peaks(spectrum, smooth, args.significance, background)
        nuclide = label(spectrum.name)
        files.append(
            {
                "spectrum": spectrum.name,
                "detector": spectrum.detector,
                "channels": len(spectrum.counts),
                "live_s": spectrum.live_time,
                "order": len(spectrum.polynomial) - 1,
                "coefficients": " ".join(f"{c:.6g}" for c in spectrum.polynomial),
                "counts": int(spectrum.counts.sum()),
                "strongest_peaks_kev": " ".join(f"{e:.1f}" for e in found["energy_kev"].head(args.strongest)),
            }
        )
        top = spectrum.channel_energies[-1]
        in_range = [line for line in known_lines(nuclide, library) if line < top]
        if args.autocalibrate and len(in_range) >= 3:
            autocalibrated.append(autocalibration(spectrum, in_range))
        for line in known_lines(nuclide, library):
            if line >= top or found.empty:
                continue
            nearest = found.iloc[(found["energy_kev"] - line).abs().argmin()]
            residual = nearest["energy_kev"] - line
            checks.append(
                {
                    "spectrum": spectrum.name,
                    "nuclide": nuclide,
                    "line_kev": line,
                    "peak_kev": nearest["energy_kev"],
                    "residual_kev": residual,
                    "fwhm_kev": nearest["fwhm_kev"],
                    "significance": nearest["significance"],
                    "within_fwhm": abs(residual) <= nearest["fwhm_kev"],
                }
            )
    checks = pd.DataFrame(checks)
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_colwidth", 70):
        print(pd.DataFrame(files).to_string(index=False))
        print()
        print(checks.to_string(index=False, float_format="{:.2f}".format))
    print()
    if autocalibrated:
        with pd.option_context("display.width", 250, "display.max_colwidth", 90):
            print(pd.DataFrame(autocalibrated).to_string(index=False, float_format="{:.3f}".format))
        print()
    checks["peak_near"] = checks["residual_kev"].abs() <= np.maximum(0.05 * checks["line_kev"], 3.0)
    for is_html, group in checks.groupby(checks["spectrum"].str.endswith(".html")):
        near = group[group["peak_near"]]
        print(
            f"{'opengamma (HPGe)' if is_html else 'baldr (NaI)'}: {len(group)} known lines in range; "
            f"{len(near)} with a peak within 5 % (or 3 keV), {int(near['within_fwhm'].sum())} of them within its FWHM; "
            f"residual median {near['residual_kev'].median():+.2f} keV, median |residual| "
            f"{near['residual_kev'].abs().median():.2f} keV, "
            f"max |residual| {near['residual_kev'].abs().max():.2f} keV, "
            f"median FWHM {near['fwhm_kev'].median():.2f} keV"
        )


if __name__ == "__main__":
    main()
