import numpy as np
import umap

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.figures import umap_figure
from fingerprintml.particles.schema import CLASSES
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    predictions = read_table(snakemake.input.predictions)
    embeddings = np.load(snakemake.input.embeddings)
    p = snakemake.params.umap
    reducer = umap.UMAP(
        n_neighbors=p["n_neighbors"], min_dist=p["min_dist"], random_state=snakemake.params.seed, n_jobs=1
    )
    coordinates = reducer.fit_transform(embeddings)
    write_table(
        predictions[["path", "class", "prediction"]].assign(umap_1=coordinates[:, 0], umap_2=coordinates[:, 1]),
        snakemake.output.table,
    )
    save_figure(
        umap_figure(coordinates, list(predictions["class"]), CLASSES), snakemake.output.pdf, snakemake.output.png
    )
