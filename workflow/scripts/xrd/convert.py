from pathlib import Path

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.cod import shard_items
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import convert_cifs, save_caches
from fingerprintml.xrd.structures import rejects_frame

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    fetch_rejects = rejects_frame([])
    if p.source == "cod":
        fetched = read_table(snakemake.input.fetched)
        paths = fetched.loc[fetched["status"] != "rejected", "path"].tolist()
        fetch_rejects = fetched.loc[fetched["status"] == "rejected", ["source_id", "path", "reason"]]
    elif p.source == "demo":
        paths = shard_items(sorted(str(f) for f in Path(snakemake.input.cifs).glob("*.cif")), p.shard, p.shard_size)
    else:
        paths = list(snakemake.input.cifs)
    phases, caches, rejects = convert_cifs(paths, wavelength_of(p.wavelength), p.two_theta_max)
    write_table(phases, snakemake.output.phases)
    write_table(
        rejects_frame([*fetch_rejects.to_dict("records"), *rejects.to_dict("records")]), snakemake.output.rejects
    )
    save_caches(caches, snakemake.output.cache)
    log.info("%d CIFs -> %d phases, %d rejected", len(paths), len(phases), len(rejects) + len(fetch_rejects))
