import numpy as np
import torch

from fingerprintml.io import atomic_path, write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.model import select_device
from fingerprintml.xrd.train import train_identifier

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    torch.set_num_threads(snakemake.threads)
    device = select_device(p.device)
    data = np.load(snakemake.input[0])
    model, history = train_identifier(
        data["train_x"],
        data["train_y"],
        (data["validation_x"], data["validation_y"]),
        len(data["classes"]),
        p.architecture,
        p.training,
        p.seed,
        device,
    )
    with atomic_path(snakemake.output.model) as tmp:
        torch.save({"state": model.cpu().state_dict(), "architecture": p.architecture, "classes": data["classes"]}, tmp)
    write_table(history, snakemake.output.history)
    log.info("trained on %s: final validation top-1 %.4f", device, history["validation_top1"].iloc[-1])
