from fingerprintml.logs import log_to
from fingerprintml.xrd.cod import read_cif_list

with log_to(snakemake.log[0]) as log:
    urls = read_cif_list(snakemake.input[0])
    with open(snakemake.output[0], "w") as out:
        out.write("\n".join(urls) + "\n")
    log.info("%d distinct CIF URLs", len(urls))
