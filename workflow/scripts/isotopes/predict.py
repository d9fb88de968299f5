from fingerprintml.io import read_table, write_table
from fingerprintml.isotopes.predict import predict_file
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    models = dict(zip(snakemake.params.runs, snakemake.input.models, strict=True))
    predictions, rejected = predict_file(
        snakemake.input.samples, models, read_table(snakemake.input.table), snakemake.params.model
    )
    write_table(predictions, snakemake.output.predictions)
    write_table(rejected, snakemake.output.rejected)
