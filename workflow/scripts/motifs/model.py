from fingerprintml.io import read_table, write_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.model import ModelSettings, learn_rw, save_model
from fingerprintml.motifs.structure import read_structure

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    model, search, metrics = learn_rw(
        read_structure(snakemake.input.structure),
        read_catalogue(snakemake.input.catalogue),
        read_table(snakemake.input.fits),
        removable=p.removable,
        settings=ModelSettings.from_config(p.model, p.n_calls),
        seed=p.seed,
        threads=snakemake.threads,
    )
    log.info("test R2 %.3f, MAE %.4f", metrics["test"]["r2"], metrics["test"]["mae"])
    save_model(model, snakemake.output.model)
    write_table(search, snakemake.output.search)
    write_json(metrics, snakemake.output.metrics)
