import numpy as np

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import umap_figure, umap_projection
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    p = snakemake.params
    predictions = read_table(snakemake.input.predictions)
    projection = umap_projection(
        predictions,
        np.load(snakemake.input.embeddings),
        n_neighbors=p.umap["n_neighbors"],
        min_dist=p.umap["min_dist"],
        seed=p.seed,
    )
    write_table(projection, snakemake.output.table)
    save_figure(
        umap_figure(projection, [c[2:] for c in predictions.columns if c.startswith("p_")]),
        snakemake.output.pdf,
        snakemake.output.png,
    )
