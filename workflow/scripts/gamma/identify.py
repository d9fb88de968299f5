from pathlib import Path

from fingerprintml.gamma.identify import IdentifySettings
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.peaks import PeakSettings
from fingerprintml.gamma.quantify import EfficiencyCalibration, identify_user
from fingerprintml.gamma.spectrum import read_spectra, read_spectrum, spectrum_files
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    reading = (
        p.preprocess["calibration_policy"],
        p.preprocess["default_calibration"],
        p.preprocess["default_distance_cm"],
    )
    # unreadable files: listed by gamma_preprocess_user in user/rejects.csv
    spectra, _ = read_spectra(spectrum_files(Path(snakemake.input.data, p.folder)), *reading)
    calibration = None
    if p.efficiency_calibration:  # a calibration spectrum that does not read stops the rule, naming it
        block = p.efficiency_calibration
        calibration = (read_spectrum(block["spectrum"], *reading), EfficiencyCalibration.from_config(block))
    tables = identify_user(
        spectra,
        read_nuclide_library(snakemake.input.library, p.nuclides),
        IdentifySettings(**p.settings, peaks=PeakSettings(**p.peaks)),
        p.detector,
        calibration,
    )
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
