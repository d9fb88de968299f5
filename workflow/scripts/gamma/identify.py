from pathlib import Path

from fingerprintml.gamma.identify import IdentifySettings, identify_spectra
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.peaks import PeakSettings
from fingerprintml.gamma.spectrum import read_spectra, spectrum_files
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    spectra, _ = read_spectra(  # unreadable files: listed by gamma_preprocess_user in user/rejects.csv
        spectrum_files(Path(snakemake.input.data, p.folder)),
        p.preprocess["calibration_policy"],
        p.preprocess["default_calibration"],
        p.preprocess["default_distance_cm"],
    )
    summary, peaks, limits = identify_spectra(
        spectra,
        read_nuclide_library(snakemake.input.library, p.nuclides),
        IdentifySettings(**p.settings, peaks=PeakSettings(**p.peaks)),
        p.detector,
    )
    write_table(summary, snakemake.output.identification)
    write_table(peaks, snakemake.output.peaks)
    write_table(limits, snakemake.output.limits)
