from fingerprintml.io import read_table, write_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import feature_table, read_catalogue, removable_atoms, table_to_masks
from fingerprintml.motifs.model import split_indices, train_model
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    cluster = read_structure(snakemake.input.structure)
    catalogue = read_catalogue(snakemake.input.catalogue)
    fits = read_table(snakemake.input.fits).set_index("cutout").loc[catalogue["cutout"]]
    features = feature_table(table_to_masks(catalogue, len(cluster)), removable_atoms(cluster, p.removable))
    splits = split_indices(len(features), p.model["validation"], p.model["test"], p.seed)
    model, search, metrics = train_model(
        features,
        fits["rw"].to_numpy(),
        splits,
        p.model["space"],
        p.n_calls,
        p.model["n_initial_points"],
        p.model["max_estimators"],
        p.model["early_stopping"],
        p.seed,
        snakemake.threads,
    )
    log.info("test R2 %.3f, MAE %.4f", metrics["test"]["r2"], metrics["test"]["mae"])
    model.save_model(snakemake.output.model)
    write_table(search, snakemake.output.search)
    write_json(metrics, snakemake.output.metrics)
