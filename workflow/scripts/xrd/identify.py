from pathlib import Path

import pandas as pd
import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.identify import (
    IDENTIFY_COLUMNS,
    identify_mixture,
    identify_rows,
    prepare_query,
    reference_patterns,
)
from fingerprintml.xrd.model import select_device
from fingerprintml.xrd.patterns import PATTERN_SUFFIXES, Grid, PatternReadError, read_measured_pattern
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import load_identifier, predict_logits

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device)
    phases = read_table(snakemake.input.phases)
    caches = load_caches(snakemake.input.caches)
    model, classes = load_identifier(snakemake.input.model, device)
    grid, wavelength = Grid.from_config(p.grid), wavelength_of(p.wavelength)
    references = reference_patterns([caches[c] for c in classes], grid, wavelength, p.reference_fwhm)
    max_lag = round(p.max_shift / grid.step)
    files = sorted(f for f in Path(snakemake.input.queries).iterdir() if f.suffix.lower() in PATTERN_SUFFIXES)
    rows, rejects = [], []
    for path in files:
        try:
            two_theta, intensity = read_measured_pattern(path)
        except PatternReadError as error:
            log.warning("rejected %s", error)
            rejects.append({"query": path.name, "reason": str(error)})
            continue
        pattern = prepare_query(two_theta, intensity, grid, wavelength_of(p.query_wavelength), wavelength, p.baseline)
        components = identify_mixture(
            pattern,
            lambda x: predict_logits(model, x, device),
            references,
            p.max_phases,
            p.top_k,
            p.candidates,
            p.min_explained,
            max_lag,
        )
        rows += identify_rows(path.name, components, phases.iloc[classes].reset_index(drop=True))
    write_table(pd.DataFrame(rows, columns=IDENTIFY_COLUMNS), snakemake.output.table)
    write_table(pd.DataFrame(rejects, columns=["query", "reason"]), snakemake.output.rejects)
    log.info("%d patterns identified, %d rejected", len(files) - len(rejects), len(rejects))
