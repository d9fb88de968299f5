import numpy as np
import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import load_arrays
from fingerprintml.particles.evaluate import novelty_from_model
from fingerprintml.particles.trust import TrustSettings
from fingerprintml.torch_runtime import select_device

with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    device = select_device(snakemake.params.device, "particles.device")
    detector, test, summary = novelty_from_model(
        snakemake.input.model,
        load_arrays(snakemake.input.arrays, ("train", "val")),
        read_table(snakemake.input.predictions),
        np.load(snakemake.input.embeddings),
        TrustSettings.from_config(snakemake.params.trust).novelty_quantile,
        device,
    )
    detector.save(snakemake.output.detector)
    write_table(test, snakemake.output.test)
    write_table(summary, snakemake.output.summary)
