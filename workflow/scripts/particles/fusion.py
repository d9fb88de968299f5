import pandas as pd

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.fusion import fuse_predictions

with log_to(snakemake.log[0]):
    i = snakemake.input
    tables = {name: pd.read_csv(path) for name, path in i.items()}
    classes = [c.removeprefix("p_") for c in tables["image_test"].columns if c.startswith("p_")]
    evaluation, validation, weights = fuse_predictions(
        tables["image_val"], tables["image_test"], tables["metadata_val"], tables["metadata_test"], classes
    )
    write_table(evaluation.predictions, snakemake.output.predictions)
    write_table(evaluation.per_class, snakemake.output.per_class)
    write_table(evaluation.confusion, snakemake.output.confusion)
    write_table(validation, snakemake.output.validation)
    write_table(weights, snakemake.output.weights)
