import pandas as pd

from fingerprintml.gamma.metrics import binary_metrics, multilabel_metrics
from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    scores = read_table(i.scores)
    methods = [c.removeprefix("predicted_") for c in scores.columns if c.startswith("predicted_")]
    binary, confusion = binary_metrics(
        scores["has_source"].to_numpy(), {m: scores[f"predicted_{m}"].to_numpy() for m in methods}
    )
    labels = read_table(i.labels).set_index("file")
    probabilities = read_table(i.probabilities)
    truth = labels[p.nuclides].to_numpy()
    per_method = {
        m: part.set_index("file").loc[labels.index, [f"p_{n}" for n in p.nuclides]].to_numpy()
        for m, part in probabilities.groupby("method")
    }
    overall, per_nuclide = multilabel_metrics(
        truth, {m: (v >= p.threshold).astype(int) for m, v in per_method.items()}, per_method, p.nuclides
    )
    log.info("binary:\n%s\nmultilabel:\n%s", binary.to_string(), overall.to_string())
    write_table(binary, snakemake.output.binary)
    write_table(confusion, snakemake.output.confusion)
    write_table(overall, snakemake.output.multilabel)
    write_table(per_nuclide, snakemake.output.per_nuclide)
    write_table(
        pd.concat([read_table(f).assign(split=s) for s, f in zip(p.splits, i.rejects, strict=True)]),
        snakemake.output.rejects,
    )
