import torch

from fingerprintml.io import read_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import MetadataScaler
from fingerprintml.particles.train import TrainSettings, save_model, train_from_arrays
from fingerprintml.torch_runtime import select_device

with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    device = select_device(p.device, "particles.device")
    settings = TrainSettings.from_config(
        p.training, width=p.width, use_metadata=p.use_metadata, device=device, seed=p.seed, initial_weights=p.weights
    )
    model, history = train_from_arrays(snakemake.input.arrays, settings, p.checkpoint_dir, device)
    scaler = read_json(snakemake.input.scaler)
    save_model(
        model, snakemake.output.model, scaler["classes"], MetadataScaler(scaler["mean"], scaler["scale"]), p.size
    )
    write_table(history.assign(run=snakemake.wildcards.run), snakemake.output.history)
