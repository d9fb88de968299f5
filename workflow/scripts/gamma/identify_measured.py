from pathlib import Path

from fingerprintml.gamma.identify import IdentifySettings
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.measured import benchmark_measured
from fingerprintml.gamma.peaks import PeakSettings
from fingerprintml.gamma.spectrum import SUFFIXES, read_spectra
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    files = [Path(f) for f in snakemake.input.files if Path(f).suffix.lower() in SUFFIXES]  # not the pages beside
    spectra, rejects = read_spectra(
        files,
        p.preprocess["calibration_policy"],
        p.preprocess["default_calibration"],
        p.preprocess["default_distance_cm"],
    )
    if len(rejects):  # a dataset's own files are verified downloads: one that does not read is a bug to see
        raise ValueError(f"unreadable spectra:\n{rejects.to_string(index=False)}")
    tables = benchmark_measured(
        spectra,
        read_nuclide_library(snakemake.input.library),
        IdentifySettings(**p.settings, peaks=PeakSettings(**p.peaks)),
        p.measured,
    )
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
    print(tables["summary"].to_string(index=False))
