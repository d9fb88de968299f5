import joblib

from fingerprintml.io import read_table
from fingerprintml.isotopes.figures import decision_regions, run_title
from fingerprintml.logs import log_to, progress
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    train, external = read_table(snakemake.input.train), read_table(snakemake.input.external)
    outputs = zip(snakemake.input.models, snakemake.output.pdf, snakemake.output.png, strict=True)
    for model, pdf, png in progress(outputs, desc="decision regions", total=len(snakemake.input.models)):
        fitted = joblib.load(model)
        title = run_title(fitted["model"], fitted["learner"])
        fig = decision_regions(
            fitted["estimator"], title, train, external, snakemake.params.grid_points, fitted["trust"].domain
        )
        save_figure(fig, pdf, png)
