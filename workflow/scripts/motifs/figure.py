from fingerprintml.logs import log_to
from fingerprintml.motifs.figures import draw
from fingerprintml.plotting import save_figure

with log_to(snakemake.log[0]):
    p = snakemake.params
    fig = draw(
        snakemake.wildcards.figure,
        dict(snakemake.input.items()),
        max_display=p.max_display,
        spread_factor=p.spread_factor,
    )
    save_figure(fig, snakemake.output.pdf, snakemake.output.png)
