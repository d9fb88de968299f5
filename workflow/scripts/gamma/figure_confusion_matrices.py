from fingerprintml.gamma.figures import confusion_figure, roc_figure
from fingerprintml.io import read_table
from fingerprintml.logs import log_to
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    p = snakemake.params
    i = snakemake.input
    fig = confusion_figure(read_table(i.confusion), read_table(i.per_nuclide), p.method)
    save_figure(fig, snakemake.output.confusion_pdf, snakemake.output.confusion_png)
    labels = read_table(i.labels).set_index("file")
    probabilities = {
        m: part.set_index("file").loc[labels.index, [f"p_{n}" for n in p.nuclides]].to_numpy()
        for m, part in read_table(i.probabilities).groupby("method", sort=False)
    }
    fig = roc_figure(labels[p.nuclides].to_numpy(), probabilities, p.nuclides)
    save_figure(fig, snakemake.output.roc_pdf, snakemake.output.roc_png)
