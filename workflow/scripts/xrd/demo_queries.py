from pathlib import Path

import numpy as np

from fingerprintml.io import atomic_path
from fingerprintml.logs import log_to
from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import augmented_set
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches

# Simulated "measured" patterns of library phases, written the way instruments export them: different ranges and
# steps, .xy/.xye/.csv, a two-phase mixture, plus one unreadable file so the rejects path runs too.
with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    caches = load_caches(snakemake.input.caches)
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    rng = rng_for(p.seed, "xrd", "demo-queries")
    wavelength = wavelength_of(p.wavelength)
    picks = rng.choice(len(caches), p.queries, replace=False)
    for number, index in enumerate(picks):
        start, step = float(rng.uniform(8, 15)), float(rng.choice([0.01, 0.02, 0.05]))
        grid = Grid(start, 85.0, step)
        mixture = 1.0 if number == 0 else 0.0
        pattern = augmented_set(caches, np.array([index]), grid, wavelength, p.augmentation, rng, mixture)[0]
        counts = 1000 * pattern + 50
        suffix = [".xy", ".xye", ".csv"][number % 3]
        name = f"query_{number:02d}_phase{index:03d}{'_mixture' if mixture else ''}{suffix}"
        with atomic_path(out / name) as tmp:
            if suffix == ".csv":
                lines = ["two_theta,counts"] + [f"{t:.4f},{c:.2f}" for t, c in zip(grid.two_theta, counts, strict=True)]
            else:
                errors = np.sqrt(counts)
                lines = [f"{t:.4f} {c:.2f} {e:.2f}" for t, c, e in zip(grid.two_theta, counts, errors, strict=True)]
            tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(out / "query_broken.xy") as tmp:
        tmp.write_text("# truncated export\n10.00 12\n10.02 abc\n")
    log.info("%d demo queries (phases %s) and one broken file in %s", p.queries, picks.tolist(), out)
