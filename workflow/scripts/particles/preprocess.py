from fingerprintml.io import read_table, write_json
from fingerprintml.logs import log_to
from fingerprintml.particles.data import labelled_layout, metadata_record, prepare_arrays, save_arrays

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    log.info("decoding the train, validation and test images at %d px", p.size)
    labelled = read_table(snakemake.input.labelled)
    arrays, scaler = prepare_arrays(labelled, read_table(snakemake.input.split), p.size)
    save_arrays(snakemake.output.arrays, arrays)
    classes, columns = labelled_layout(labelled)
    record = metadata_record(p.metadata, columns, microns_per_pixel=p.microns_per_pixel, table=p.table)
    write_json({"classes": classes, "columns": columns, "metadata": record, **scaler.state()}, snakemake.output.scaler)
