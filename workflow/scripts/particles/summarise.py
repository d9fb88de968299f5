import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    rows, per_class = [], []
    for run, predictions, metrics in zip(
        snakemake.params.runs, snakemake.input.predictions, snakemake.input.per_class, strict=True
    ):
        table = read_table(predictions)
        metrics = read_table(metrics)
        rows.append(
            {
                "run": run,
                "test_images": len(table),
                "accuracy": float((table["class"] == table["prediction"]).mean()),
                "macro_f1": float(metrics["f1"].mean()),
                "min_recall": float(metrics["recall"].min()),
            }
        )
        per_class.append(metrics)
    summary = pd.DataFrame(rows)
    log.info("test metrics:\n%s", summary.to_string(index=False))
    write_table(summary, snakemake.output.summary)
    write_table(pd.concat(per_class, ignore_index=True), snakemake.output.per_class)
    write_table(
        pd.concat([read_table(h) for h in snakemake.input.histories], ignore_index=True), snakemake.output.history
    )
