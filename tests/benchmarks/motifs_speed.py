"""Speed of the motifs fitting engines on the paper's alpha-Keggin (109725.xyz, DanMAX data), in one run.

Prints fits/s of the fast engine (10,000 cut-outs in shards of 2,500, as the workflow), of the diffpy.srfit reference
engine (a sample of cut-outs), and G(r) calls/s of DebyeCalculator (CPU) on cut-outs of the same catalogue, as
ratios; and the peak RSS of fitting cut-outs of the 318-atom 166877.xyz (chunked pair kernels).

    .venv/bin/python tests/benchmarks/motifs_speed.py [--threads 2] [--n 10000] [--srfit-sample 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from pathlib import Path

import numpy as np
import torch

from fingerprintml.motifs.catalogue import build_catalogue
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.fitting import FitSettings, fit_masks
from fingerprintml.motifs.structure import read_gr, read_xyz

MIRROR = Path(__file__).resolve().parents[2] / ".." / "shared" / "mirror"
ML_MOTEX = "AndySAnker/ML-MotEx/c85a43af194cd6ccb23f28bcb3585a6fb5bff2ec"
PDF = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.01, biso_default=0.4, qstep=0.05)
FIT = FitSettings(rmin=1.6, rmax=10.0, zoom_min=0.99, zoom_max=1.01)
TARGET_S = 10.0


def paper_inputs(mirror: Path, structure: str):
    root = mirror / ML_MOTEX
    r, g = read_gr(root / "Experimental_Data" / "DanMAX_AlphaKeggin.gr")
    return read_xyz(root / "Structure_Models" / structure), r, g


def large_structure_peak_rss(mirror: str, threads: int, n: int, queue) -> None:
    torch.set_num_threads(threads)
    cluster, r, g = paper_inputs(Path(mirror), "166877.xyz")
    masks = build_catalogue(cluster, ["W"], 2.5, n, np.random.default_rng(1))
    start = time.perf_counter()
    fit_masks(cluster, masks, r, g, pdf=PDF, fit=FIT, engine="fast")
    queue.put((len(cluster), time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--shard-size", type=int, default=2500)
    parser.add_argument("--srfit-sample", type=int, default=3)
    parser.add_argument("--debye-calls", type=int, default=20)
    parser.add_argument("--large-n", type=int, default=500)
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cluster, r, g = paper_inputs(args.mirror, "109725.xyz")
    masks = build_catalogue(cluster, ["W"], 2.5, args.n, np.random.default_rng(0))

    start = time.perf_counter()
    for first in range(0, len(masks), args.shard_size):
        fit_masks(cluster, masks[first : first + args.shard_size], r, g, pdf=PDF, fit=FIT, engine="fast")
    fast_s = time.perf_counter() - start
    fast_rate = len(masks) / fast_s

    sample = masks[: args.srfit_sample]
    start = time.perf_counter()
    fit_masks(cluster, sample, r, g, pdf=PDF, fit=FIT, engine="srfit")
    srfit_rate = len(sample) / (time.perf_counter() - start)

    from debyecalculator import DebyeCalculator

    calculator = DebyeCalculator(qmin=0.7, qmax=20.0, qdamp=0.05, biso=0.4, rmin=1.6, rmax=10.0, device="cpu")
    start = time.perf_counter()
    for mask in masks[: args.debye_calls]:
        calculator.gr((list(cluster.elements[mask]), cluster.xyz[mask]))
    debye_rate = args.debye_calls / (time.perf_counter() - start)

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=large_structure_peak_rss, args=(str(args.mirror), args.threads, args.large_n, queue))
    child.start()
    n_atoms, large_s, peak_mb = queue.get()
    child.join()

    print(f"threads: {args.threads}; 109725.xyz ({len(cluster)} atoms), fit range 1.6-10 A, zoom window 0.99-1.01")
    print(f"fast engine:     {len(masks)} fits in {fast_s:.1f} s = {fast_rate:.1f} fits/s")
    print(f"srfit engine:    {len(sample)} fits = {srfit_rate:.3f} fits/s")
    print(f"DebyeCalculator: {args.debye_calls} G(r) calls = {debye_rate:.2f} calls/s (CPU, G(r) only, no fit)")
    print(f"ratio fast / srfit fits:            {fast_rate / srfit_rate:.0f}")
    print(f"ratio fast fits / DebyeCalculator G(r) calls: {fast_rate / debye_rate:.1f}")
    per_10000 = 10000 / fast_rate
    print(f"time for 10,000 fits: {per_10000:.1f} s; target {TARGET_S:.0f} s; ratio {per_10000 / TARGET_S:.2f}")
    print(f"166877.xyz ({n_atoms} atoms): {args.large_n} fast fits in {large_s:.1f} s, peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
