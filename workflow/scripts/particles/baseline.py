import torch

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.baseline import metadata_gbm
from fingerprintml.particles.data import load_arrays
from fingerprintml.particles.train import load_model

with log_to(snakemake.log[0]):
    # The label map of the network's own model, so that the three runs name the classes alike.
    classes = load_model(snakemake.input.model, torch.device("cpu"))[1]["classes"]
    evaluation, validation = metadata_gbm(
        load_arrays(snakemake.input.arrays), classes, snakemake.params.seed, threads=snakemake.threads
    )
    write_table(evaluation.predictions, snakemake.output.predictions)
    write_table(evaluation.per_class, snakemake.output.per_class)
    write_table(evaluation.confusion, snakemake.output.confusion)
    write_table(validation, snakemake.output.validation)
