import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.store import load_caches, save_caches

with log_to(snakemake.log[0]) as log:
    i = snakemake.input
    phases = pd.concat([read_table(path) for path in i.phases], ignore_index=True)
    caches = [refl for path in i.caches for refl in load_caches(path)]
    duplicated = phases["phase_id"].duplicated()
    if duplicated.any():
        log.warning(
            "dropping %d duplicated phase ids: %s", duplicated.sum(), phases.loc[duplicated, "phase_id"].tolist()
        )
    phases = phases[~duplicated].reset_index(drop=True)
    caches = [refl for refl, dup in zip(caches, duplicated, strict=True) if not dup]
    if len(phases) < 2:
        raise ValueError(f"the library has {len(phases)} usable phase(s); identification needs at least 2")
    write_table(phases, snakemake.output.phases)
    write_table(pd.concat([read_table(path) for path in i.rejects], ignore_index=True), snakemake.output.rejects)
    save_caches(caches, snakemake.output.caches)
    log.info("library: %d phases", len(phases))
