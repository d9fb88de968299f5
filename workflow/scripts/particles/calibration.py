from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.trust import TrustSettings, calibrate_runs

with log_to(snakemake.log[0]) as log:
    settings = TrustSettings.from_config(snakemake.params.trust)
    calibration, bins = calibrate_runs(
        snakemake.params.runs,
        [read_table(path) for path in snakemake.input.validation],
        [read_table(path) for path in snakemake.input.test],
        settings.ece_bins,
    )
    log.info("calibration of the test predictions:\n%s", calibration.to_string(index=False))
    write_table(calibration, snakemake.output.calibration)
    write_table(bins, snakemake.output.reliability)
