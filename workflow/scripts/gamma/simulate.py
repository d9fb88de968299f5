from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.simulate import read_cascades, simulate_dataset
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    truth = simulate_dataset(
        read_lines(snakemake.input.lines),
        p.nuclides,
        p.detector,
        p.simulator,
        snakemake.output.data,
        p.seed,
        read_cascades(snakemake.input.cascades),
    )
    log.info("simulated %d spectra:\n%s", len(truth), truth.groupby("split").size().to_string())
    write_table(truth, snakemake.output.truth)
