from fingerprintml.io import read_json, read_table, write_latex, write_table
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
        trust={run: read_json(path) for run, path in zip(runs, i.trust, strict=True)},
    )
    write_table(summary.table, o.table)
    write_latex(summary.headline, o.latex, caption=HEADLINE_CAPTION, label="tab:isotopes-models")
    write_table(summary.levels, o.levels)
    write_table(summary.confusion, o.confusion)
    write_table(summary.search_log, o.search_log)
    write_table(summary.calibration, o.calibration)
    write_table(summary.conformal, o.conformal)
    write_table(summary.reliability, o.reliability)
    write_table(summary.domain, o.domain)
    log.info("best run %s:\n%s", summary.best, summary.table.to_string())
