from fingerprintml.io import read_table, write_json
from fingerprintml.logs import log_to
from fingerprintml.particles.data import prepare_arrays, save_arrays
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS

with log_to(snakemake.log[0]) as log:
    log.info("decoding the train, validation and test images at %d px", snakemake.params.size)
    arrays, scaler = prepare_arrays(
        read_table(snakemake.input.labelled), read_table(snakemake.input.split), snakemake.params.size
    )
    save_arrays(snakemake.output.arrays, arrays)
    write_json({"classes": CLASSES, "columns": METADATA_COLUMNS, **scaler.state()}, snakemake.output.scaler)
