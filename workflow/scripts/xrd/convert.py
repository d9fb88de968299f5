from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import convert_cifs, save_caches, shard_cifs

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    paths, rejected = shard_cifs(p.source, snakemake.input.cifs, p.shard, p.demo_shards)
    phases, caches, rejects = convert_cifs(paths, wavelength_of(p.wavelength), p.two_theta_max, rejected)
    write_table(phases, snakemake.output.phases)
    write_table(rejects, snakemake.output.rejects)
    save_caches(caches, snakemake.output.cache)
    log.info("%d CIFs -> %d phases, %d rejected", len(paths) + len(rejected), len(phases), len(rejects))
