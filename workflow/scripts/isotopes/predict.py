from fingerprintml.io import read_table, write_table
from fingerprintml.isotopes.predict import predict_file
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    models = dict(zip(snakemake.params.runs, snakemake.input.models, strict=True))
    params = snakemake.params
    predictions, rejected = predict_file(
        snakemake.input.samples,
        models,
        read_table(snakemake.input.table),
        params.model,
        sd=params.sd,
        draws=params.draws,
        seed=params.seed,
    )
    write_table(predictions, snakemake.output.predictions)
    write_table(rejected, snakemake.output.rejected)
