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
    scaler = read_json(snakemake.input.scaler)
    # A dataset without metadata (metadata: none) trains its full run on the images alone.
    use_metadata = p.use_metadata and bool(scaler["columns"])
    settings = TrainSettings.from_config(
        p.training, width=p.width, use_metadata=use_metadata, device=device, seed=p.seed, initial_weights=p.weights
    )
    model, history = train_from_arrays(
        snakemake.input.arrays, settings, p.checkpoint_dir, device, n_classes=len(scaler["classes"])
    )
    save_model(
        model,
        snakemake.output.model,
        scaler["classes"],
        MetadataScaler(scaler["mean"], scaler["scale"]),
        p.size,
        metadata=scaler["metadata"],
    )
    write_table(history.assign(run=snakemake.wildcards.run), snakemake.output.history)
