from fingerprintml.gamma.combine import detection_curves
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    curve = detection_curves(read_table(snakemake.input.predictions), read_table(snakemake.input.truth))
    log.info("detection against expected source counts:\n%s", curve.to_string())
    write_table(curve, snakemake.output[0])
