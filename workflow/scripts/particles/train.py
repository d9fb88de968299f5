import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from fingerprintml.download import sha256_of
from fingerprintml.io import read_json, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.data import MetadataScaler
from fingerprintml.particles.model import select_device
from fingerprintml.particles.train import Arrays, save_model, train_model

with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    data = np.load(snakemake.input.arrays)
    train, val = (Arrays(data[f"{s}_images"], data[f"{s}_metadata"], data[f"{s}_labels"]) for s in ("train", "val"))
    scaler_state = read_json(snakemake.input.scaler)
    settings = {**p.training, "width": p.width, "use_metadata": p.use_metadata}
    device = select_device(p.device)
    # The checkpoint outlives a crashed job (it is no rule output, which Snakemake would delete before a
    # rerun); its name keys it to the settings and data, so a changed config starts afresh.
    fingerprint = json.dumps([settings, p.seed, p.weights, sha256_of(snakemake.input.arrays)], sort_keys=True)
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    checkpoint = Path(snakemake.params.checkpoint_dir) / f"checkpoint-{key}.pt"
    log.info(
        "device %s, %d threads, %d training / %d validation images",
        device,
        snakemake.threads,
        len(train.labels),
        len(val.labels),
    )
    model, history = train_model(
        train, val, settings, len(scaler_state["classes"]), checkpoint, device, p.seed, initial_weights=p.weights
    )
    scaler = MetadataScaler(scaler_state["mean"], scaler_state["scale"])
    save_model(model, snakemake.output.model, settings, scaler_state["classes"], scaler, p.size)
    write_table(history.assign(run=snakemake.wildcards.run), snakemake.output.history)
