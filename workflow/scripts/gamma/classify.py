import joblib
import numpy as np

from fingerprintml.gamma.activity import LineFitter
from fingerprintml.gamma.classify import activity_tables, identify, predictions_table
from fingerprintml.gamma.library import read_lines, source_lines
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.gamma.sigma import Reference
from fingerprintml.io import write_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    binned = Binned.load(i.binned)
    source_probability = joblib.load(i.binary_model).predict_proba(np.load(i.binary_features))[:, 1]
    nuclide_probability = joblib.load(i.multilabel_model).predict_proba(np.load(i.multilabel_features))
    identified = identify(source_probability, nuclide_probability, p.nuclides, p.threshold)
    lines = read_lines(i.lines)
    fitter = LineFitter(
        source_lines(lines, p.nuclides),
        p.detector,
        len(binned.counts[0]),
        tuple(p.calibration),
        p.activity["half_width_fwhm"],
        p.activity["background_degree"],
    )
    background_rate = Reference.load(i.background).mean_rate
    line_table = activity_tables(
        binned, identified, fitter, background_rate, lines, p.activity["reference_date"], p.activity["measurement_date"]
    )
    table = predictions_table(binned.files, source_probability, nuclide_probability, p.nuclides, identified, line_table)
    log.info("%d spectra: %d with a source; %d lines fitted", len(table), table["has_source"].sum(), len(line_table))
    write_table(table, snakemake.output.predictions)
    write_table(line_table, snakemake.output.lines)
