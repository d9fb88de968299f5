import numpy as np

from fingerprintml.io import atomic_path, read_table, write_json
from fingerprintml.logs import log_to
from fingerprintml.particles.data import MetadataScaler, decode_images
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS

with log_to(snakemake.log[0]) as log:
    labelled = read_table(snakemake.input.labelled)
    split = read_table(snakemake.input.split)
    if list(split["path"]) != list(labelled["path"]):
        raise ValueError(f"{snakemake.input.split} does not list the images of {snakemake.input.labelled}")
    table = labelled.assign(split=split["split"])
    train = table[table["split"] == "train"]
    scaler = MetadataScaler.fit(train[METADATA_COLUMNS].to_numpy(float))
    arrays = {}
    for part in ("train", "val", "test"):
        rows = table[table["split"] == part]
        log.info("%s: decoding %d images at %d px", part, len(rows), snakemake.params.size)
        arrays[f"{part}_images"] = decode_images(list(rows["path"]), snakemake.params.size)
        arrays[f"{part}_metadata"] = scaler.transform(rows[METADATA_COLUMNS].to_numpy(float))
        arrays[f"{part}_labels"] = rows["class"].map(CLASSES.index).to_numpy(np.int64)
        arrays[f"{part}_paths"] = rows["path"].to_numpy(str)
    with atomic_path(snakemake.output.arrays) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    write_json({"classes": CLASSES, "columns": METADATA_COLUMNS, **scaler.state()}, snakemake.output.scaler)
