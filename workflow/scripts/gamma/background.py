from fingerprintml.gamma.library import read_lines, source_lines
from fingerprintml.gamma.preprocess import Binned
from fingerprintml.gamma.sigma import line_windows, reference
from fingerprintml.io import read_table
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    binned = Binned.load(snakemake.input.binned)
    is_background = read_table(snakemake.input.labels)["has_source"].to_numpy() == 0
    windows = line_windows(
        source_lines(read_lines(snakemake.input.lines), p.nuclides), p.resolution, p.cap_kev, p.window_fwhm
    )
    ref = reference(binned.counts[is_background], binned.live_time[is_background], windows)
    log.info("reference background from %d spectra: %.2f counts/s", is_background.sum(), ref.mean_rate.sum())
    ref.save(snakemake.output[0])
