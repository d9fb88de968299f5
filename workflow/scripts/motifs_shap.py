import xgboost as xgb

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import feature_table, read_catalogue, removable_atoms, table_to_masks
from fingerprintml.motifs.model import shap_values
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]):
    cluster = read_structure(snakemake.input.structure)
    catalogue = read_catalogue(snakemake.input.catalogue)
    features = feature_table(
        table_to_masks(catalogue, len(cluster)), removable_atoms(cluster, snakemake.params.removable)
    )
    model = xgb.XGBRegressor()
    model.load_model(snakemake.input.model)
    model.set_params(n_jobs=snakemake.threads)
    write_table(features, snakemake.output.features)
    write_table(shap_values(model, features), snakemake.output.shap, float_format="%.6g")
