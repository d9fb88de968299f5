from pathlib import Path

from fingerprintml.gamma.figures import spectrum_figure
from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.io import read_table
from fingerprintml.logs import log_to, progress
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    p = snakemake.params
    i = snakemake.input
    binned = Binned.load(i.binned)
    predictions = read_table(i.predictions).set_index("file", drop=False)
    labels = read_table(i.labels).set_index("file")
    truth = labels[p.nuclides].apply(lambda row: "+".join(n for n in p.nuclides if row[n]), axis=1)
    # One spectrum of every label combination first (background first of all), then the rest in file order.
    first_of_each = (
        truth.reset_index().sort_values(0, key=lambda c: c != "", kind="stable").drop_duplicates(0)["file"].tolist()
    )
    chosen = (first_of_each + [f for f in truth.index if f not in first_of_each])[: p.max_spectra or len(truth)]
    lines = read_lines(i.lines)
    out = Path(snakemake.output.figures)
    out.mkdir(parents=True, exist_ok=True)
    index = {name: k for k, name in enumerate(binned.files)}
    for name in progress(chosen, "spectrum figures"):
        fig = spectrum_figure(binned.rates[index[name]], predictions.loc[name], lines, p.nuclides, truth[name])
        stem = Path(name).stem
        save_figure(fig, out / f"{stem}.pdf", out / f"{stem}.png")
