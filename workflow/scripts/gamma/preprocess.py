from fingerprintml.gamma.pipeline import preprocess_split
from fingerprintml.gamma.preprocess import PreprocessSettings
from fingerprintml.io import write_array, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    settings = PreprocessSettings.from_config(p.preprocess)
    binned, rates, labels, rejects = preprocess_split(snakemake.input.data, p.split, p.nuclides, settings)
    binned.save(snakemake.output.binned)
    write_array(snakemake.output.rates, rates)
    write_table(labels, snakemake.output.labels)
    write_table(rejects, snakemake.output.rejects)
