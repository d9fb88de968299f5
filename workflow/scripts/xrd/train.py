import numpy as np
import torch

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.torch_runtime import select_device
from fingerprintml.xrd.train import save_identifier, train_identifier

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device, "xrd.device")
    data = np.load(snakemake.input.data)
    model, history = train_identifier(
        data["train_x"],
        data["train_y"],
        (data["validation_x"], data["validation_y"]),
        n_classes=len(data["classes"]),
        architecture=p.architecture,
        training=p.training,
        seed=p.seed,
        device=device,
    )
    save_identifier(model, p.architecture, data["classes"], snakemake.output.model)
    write_table(history, snakemake.output.history)
    log.info("trained on %s: final validation accuracy %.4f", device, history["val_accuracy"].iloc[-1])
