from pathlib import Path

from fingerprintml.logs import log_to
from fingerprintml.provenance import write_provenance

DISTRIBUTIONS = {
    "isotopes": [
        "fingerprintml",
        "numpy",
        "pandas",
        "scikit-learn",
        "xgboost-cpu",
        "xgboost",
        "hiclass",
        "scikit-optimize",
        "matplotlib",
        "snakemake",
    ],
}

with log_to(snakemake.log[0]):
    study = snakemake.wildcards.study
    write_provenance(
        snakemake.output[0],
        study,
        {study: snakemake.params.config, "download": snakemake.params.download},
        DISTRIBUTIONS[study],
        Path(snakemake.scriptdir).parents[1],
    )
