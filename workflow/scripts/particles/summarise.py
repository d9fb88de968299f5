import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.evaluate import summarise_runs

with log_to(snakemake.log[0]) as log:
    summary, per_class = summarise_runs(
        snakemake.params.runs,
        [read_table(path) for path in snakemake.input.predictions],
        [read_table(path) for path in snakemake.input.per_class],
    )
    log.info("test metrics:\n%s", summary.to_string(index=False))
    write_table(summary, snakemake.output.summary)
    write_table(per_class, snakemake.output.per_class)
    write_table(
        pd.concat([read_table(h) for h in snakemake.input.histories], ignore_index=True), snakemake.output.history
    )
