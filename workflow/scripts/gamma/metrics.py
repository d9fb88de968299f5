from fingerprintml.gamma.pipeline import evaluate, rejects_by_split
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    i = snakemake.input
    tables = evaluate(read_table(i.scores), read_table(i.probabilities), read_table(i.labels), p.nuclides, p.threshold)
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
    rejects = rejects_by_split({"train": read_table(i.train_rejects), "test": read_table(i.test_rejects)})
    write_table(rejects, snakemake.output.rejects)
