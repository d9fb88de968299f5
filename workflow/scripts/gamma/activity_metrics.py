from fingerprintml.gamma.metrics import activity_comparison, activity_summary
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    comparison = activity_comparison(read_table(snakemake.input.lines), read_table(snakemake.input.truth), p.nuclides)
    summary = activity_summary(comparison, p.min_net_counts, p.tolerance, p.max_relative_sd)
    log.info("activity against the simulated truth:\n%s", summary.to_string())
    write_table(comparison, snakemake.output.comparison)
    write_table(summary, snakemake.output.summary)
