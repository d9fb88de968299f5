import torch

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import load_arrays
from fingerprintml.particles.evaluate import evaluate_model
from fingerprintml.torch_runtime import select_device

with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    device = select_device(snakemake.params.device, "particles.device")
    val = load_arrays(snakemake.input.arrays, ("val",))["val"]
    evaluation = evaluate_model(snakemake.input.model, val, device, snakemake.wildcards.run)
    write_table(evaluation.predictions, snakemake.output.predictions)
