from fingerprintml.gamma.combine import method_metrics
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    truth = read_table(snakemake.input.truth)
    weak = truth.assign(file=truth["file"].str.split("/").str[-1]).set_index("file")["weak"]
    overall, per_nuclide = method_metrics(
        read_table(snakemake.input.predictions),
        read_table(snakemake.input.labels),
        weak,
        snakemake.params.nuclides,
        snakemake.params.method,
    )
    log.info("per method:\n%s", overall.to_string())
    write_table(overall, snakemake.output.overall)
    write_table(per_nuclide, snakemake.output.per_nuclide)
