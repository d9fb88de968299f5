import numpy as np

from fingerprintml.gamma.classify import read_split
from fingerprintml.gamma.preprocess import smooth
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    binned, labels, rejects = read_split(
        snakemake.input.data,
        snakemake.wildcards.split,
        p.nuclides,
        p.cap_kev,
        p.calibration_policy,
        tuple(p.default_calibration),
        p.default_distance_cm,
    )
    for row in rejects.itertuples(index=False):
        log.warning("%s (%s): %s", row.file, row.action, row.problem)
    log.info(
        "%d spectra rebinned to %d keV; %d rejected",
        len(binned.files),
        p.cap_kev,
        (rejects["action"] == "skipped").sum(),
    )
    binned.save(snakemake.output.binned)
    np.save(snakemake.output.rates, smooth(binned.rates, p.smoothing))
    write_table(labels, snakemake.output.labels)
    write_table(rejects, snakemake.output.rejects)
