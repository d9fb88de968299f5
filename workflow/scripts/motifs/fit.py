import time

import torch

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.fitting import FitSettings
from fingerprintml.motifs.pipeline import fit_shard
from fingerprintml.motifs.structure import read_gr, read_structure
from fingerprintml.shards import shard_slice
from fingerprintml.torch_runtime import select_device

with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    cluster = read_structure(snakemake.input.structure)
    r, g = read_gr(snakemake.input.data)
    catalogue = read_catalogue(snakemake.input.catalogue)
    start = time.perf_counter()
    fits = fit_shard(
        cluster,
        catalogue,
        shard_slice(snakemake.wildcards.shard, len(catalogue), p.shard_size),
        r,
        g,
        pdf=PDFSettings.from_config(p.pdf),
        fit=FitSettings.from_config(p.fit),
        engine=p.engine,
        device=select_device(p.device, "motifs.device"),
    )
    elapsed = time.perf_counter() - start
    log.info("%s engine: %d fits in %.1f s (%.0f fits/s)", p.engine, len(fits), elapsed, len(fits) / elapsed)
    write_table(fits, snakemake.output[0], float_format="%.8g")
