"""Peak-based identification (fingerprintml.gamma.identify with the evaluated-data library
resources/gamma/nuclide_library.csv) of every real spectrum of the `opengamma` (HPGe, Plotly HTML) and `baldr`
(NaI(Tl), PyRIID SampleSet) data, against the nuclide its name gives.

Per file: the label, the nuclides reported (with significance), the others that are neither the label's series nor
natural (K-40, U/Th series), the unexplained peaks, and the resolution law. Targets (issue #19):
- opengamma single-nuclide spectra: label reported in >= 90 %; at most one other (not its daughter/series, not
  natural) in >= 90 %; natural samples attributed to the right series;
- baldr: source reported in >= 85 % (incl. shielded); the background with no source (only natural nuclides).

The opengamma background traces are not scaled to the measurements (no live time), so those spectra are searched
gross; the baldr spectra have the SampleSet's background spectrum, scaled by live time, subtracted.

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/gamma_identify_real.py [--mirror ../shared/mirror]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gamma_real_spectra import fetched

from fingerprintml.gamma.identify import Identifier, IdentifySettings, query_channels
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.spectrum import read_spectrum_file

REPO = Path(__file__).resolve().parents[2]
# Natural samples: the series their lines belong to.
SERIES = {
    "Pitchblende": {"U-238 series"},
    "RadiumDial": {"U-238 series"},
    "Uranium-glaze": {"U-238 series"},
    "Zeunerite": {"U-238 series"},
    "Fiestaware": {"U-238 series"},
    "CeramicPipe1820": {"U-238 series", "Th-232 series"},
    "ThoriumSource": {"Th-232 series"},
}
# File stems that name two nuclides (a parent and its daughter).
ALIASES = {"Ge-68_Ga-68": "Ge-68"}


def label(name: str) -> str:
    """The labelled nuclide or natural sample of a spectrum, from its name ('' for a background)."""
    stem = name.split("] ")[-1].split(" @")[0].removesuffix(".html")
    for length in (1, 2):  # PyRIID seeds: Cs137 -> Cs-137, U232 -> U-232
        if stem[:length].isalpha() and stem[length:].isdigit():
            stem = f"{stem[:length]}-{stem[length:]}"
    return "" if stem == "Background" else ALIASES.get(stem, stem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "mirror")
    parser.add_argument("--downloads", type=Path, default=REPO / "resources" / "downloads")
    args = parser.parse_args()
    library = read_nuclide_library(REPO / "resources" / "gamma" / "nuclide_library.csv")
    series = library.drop_duplicates("nuclide").set_index("nuclide")
    identifier = Identifier(library, IdentifySettings())
    paths = fetched(args.mirror, args.downloads, ("gamma/opengamma/", "gamma/baldr/"))
    spectra = [s for p in paths if p.suffix in (".html", ".h5") for s in read_spectrum_file(p)]
    rows = []
    for spectrum, channels in query_channels(spectra):
        result = identifier.identify(channels)
        truth = label(spectrum.name)
        reported = result.reported
        scores = result.nuclides.set_index("nuclide")["significance"]
        truth_series = SERIES.get(truth, {series.at[truth, "series"]} if truth in series.index else set())
        others = [
            n
            for n in reported
            if n != truth
            and not series.at[n, "natural"]
            and (series.at[n, "series"] not in truth_series or not truth_series)
        ]
        found = (
            bool(truth_series & {series.at[n, "series"] for n in reported}) if truth in SERIES else truth in reported
        )
        rows.append(
            {
                "data": "opengamma" if spectrum.name.endswith(".html") else "baldr",
                "spectrum": spectrum.name.split("/")[-1],
                "truth": truth or "background",
                "natural_sample": truth in SERIES,
                "found": found if truth else not [n for n in reported if not series.at[n, "natural"]],
                "others": len(others),
                "reported": " ".join(f"{n}({scores[n]:.0f})" for n in reported),
                "unexplained_kev": " ".join(f"{e:.0f}" for e in result.unexplained["energy_kev"]),
                "fwhm_662": float(result.fwhm(662.0)),
                "peaks": len(result.peaks),
            }
        )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_colwidth", 110):
        print(table.to_string(index=False, float_format="{:.1f}".format))
    print()
    for data, group in table.groupby("data"):
        single = group[~group["natural_sample"] & (group["truth"] != "background")]
        natural = group[group["natural_sample"]]
        background = group[group["truth"] == "background"]
        print(
            f"{data}: label reported {single['found'].sum()}/{len(single)} ({single['found'].mean():.0%}); "
            f"at most one other {(single['others'] <= 1).sum()}/{len(single)} "
            f"({(single['others'] <= 1).mean():.0%}); natural samples in the right series "
            f"{natural['found'].sum()}/{len(natural)}; backgrounds with no source "
            f"{background['found'].sum()}/{len(background)}"
        )


if __name__ == "__main__":
    main()
