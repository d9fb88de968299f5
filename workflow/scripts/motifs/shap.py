from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.model import explain
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]):
    features, shap = explain(
        read_structure(snakemake.input.structure),
        read_catalogue(snakemake.input.catalogue),
        snakemake.input.model,
        removable=snakemake.params.removable,
        threads=snakemake.threads,
    )
    write_table(features, snakemake.output.features)
    write_table(shap, snakemake.output.shap, float_format="%.6g")
