from pathlib import Path

from fingerprintml.logs import log_to
from fingerprintml.provenance import write_provenance

DISTRIBUTIONS = {
    "motifs": [
        "fingerprintml",
        "numpy",
        "pandas",
        "scipy",
        "torch",
        "diffpy.srfit",
        "diffpy.structure",
        "xgboost-cpu",
        "xgboost",
        "scikit-optimize",
        "scikit-learn",
        "shap",
        "matplotlib",
        "snakemake",
    ],
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
    "particles": [
        "fingerprintml",
        "numpy",
        "pandas",
        "pillow",
        "scipy",
        "scikit-image",
        "scikit-learn",
        "torch",
        "pyarrow",
        "umap-learn",
        "matplotlib",
        "snakemake",
    ],
    "gamma": [
        "fingerprintml",
        "numpy",
        "pandas",
        "scipy",
        "scikit-learn",
        "becquerel",
        "matplotlib",
        "snakemake",
    ],
    "xrd": ["fingerprintml", "numpy", "pandas", "scipy", "pymatgen", "spglib", "torch", "matplotlib", "snakemake"],
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
