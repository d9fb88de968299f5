from fingerprintml.io import read_table, write_latex, write_table
from fingerprintml.isotopes.evaluate import HEADLINE_CAPTION, summarise
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    i, o, runs = snakemake.input, snakemake.output, snakemake.params.runs

    def tables(paths):
        return {run: read_table(path) for run, path in zip(runs, paths, strict=True)}

    summary = summarise(
        read_table(i.train),
        loo=tables(i.loo),
        nested=tables(i.nested),
        external=tables(i.external),
        points=tables(i.points),
    )
    write_table(summary.table, o.table)
    write_latex(summary.headline, o.latex, caption=HEADLINE_CAPTION, label="tab:isotopes-models")
    write_table(summary.levels, o.levels)
    write_table(summary.confusion, o.confusion)
    write_table(summary.search_log, o.search_log)
    log.info("best run %s:\n%s", summary.best, summary.table.to_string())
