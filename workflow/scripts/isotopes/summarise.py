from fingerprintml.io import read_table, write_latex, write_table
from fingerprintml.isotopes.evaluate import baseline_metrics, best_run, comparison_table, confusion_of, run_metrics
from fingerprintml.isotopes.search import search_log
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    i, runs = snakemake.input, snakemake.params.runs
    train = read_table(i.train)
    external = read_table(i.external[0])
    metrics = {
        run: run_metrics(read_table(loo), read_table(nested), read_table(ext))
        for run, loo, nested, ext in zip(runs, i.loo, i.nested, i.external, strict=True)
    }
    metrics["baseline-majority leaf"] = baseline_metrics(train, external)
    table = comparison_table(metrics)
    write_table(table, snakemake.output.table)
    headline = table[
        ["model", "learner", "hF1", "hF1_no_root", "nested_hF1", "external_natural", "external_natural_troll"]
    ]
    write_latex(
        headline.rename(
            columns={
                "hF1": "hF1 (CV)",
                "hF1_no_root": "hF1 no root",
                "nested_hF1": "hF1 nested",
                "external_natural": "ext. Natural",
                "external_natural_troll": "ext. Natural (Troll)",
            }
        ),
        snakemake.output.latex,
        caption="Hierarchical F1 of the isotope source classifiers (original protocol, without the root, nested CV) "
        "and the fraction of external natural samples placed under Natural.",
        label="tab:isotopes-models",
    )
    write_table(table[["model", "learner", "acc_source", "acc_species", "acc_route"]], snakemake.output.levels)
    best = best_run(table)
    confusion = confusion_of(read_table(i.loo[runs.index(best)]))
    confusion.insert(0, "run", best)
    write_table(confusion, snakemake.output.confusion)
    write_table(
        search_log({run: read_table(p) for run, p in zip(runs, i.points, strict=True)}),
        snakemake.output.search_log,
    )
    log.info("best run %s:\n%s", best, table.to_string())
