from pathlib import Path

from fingerprintml.logs import log_to
from fingerprintml.provenance import env_distributions, write_provenance

with log_to(snakemake.log[0]):
    write_provenance(
        snakemake.output[0],
        snakemake.wildcards.study,
        snakemake.wildcards.dataset,
        snakemake.params.config,
        env_distributions(snakemake.input.envs),
        Path(snakemake.scriptdir).parents[1],
        snakemake.params.user_input,
        snakemake.input.user,
    )
