"""Inference throughput of the particles model: images/s per CPU core (and on CUDA when present), the time
projected for the 3M GRIP images of the paper, and data loading (decode, resize, metadata) measured apart.

Run: .venv/bin/python tests/benchmarks/particles_speed.py [--images 200] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fingerprintml.particles.data import MetadataScaler, UnlabelledImages, metadata_record
from fingerprintml.particles.demo import draw_particle, read_class_table, save_png
from fingerprintml.particles.inference import classify_images
from fingerprintml.particles.model import ParticleNet
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS
from fingerprintml.particles.train import save_model
from fingerprintml.seeds import rng_for

REPO = Path(__file__).resolve().parents[2]
PRESETS = {"paper": {"size": 128, "width": 64}, "demo": {"size": 40, "width": 8}}
GRIP_IMAGES = 3_000_000


def model_rate(size: int, width: int, device: torch.device, batch: int, repeats: int) -> float:
    """Images/s of the forward pass alone (evaluation mode; AMP on CUDA)."""
    model = ParticleNet(len(METADATA_COLUMNS), len(CLASSES), width).to(device).eval()
    images = torch.randn(batch, 1, size, size, device=device)
    metadata = torch.randn(batch, len(METADATA_COLUMNS), device=device)
    with torch.no_grad(), torch.autocast(device.type, enabled=device.type == "cuda"):
        model(images, metadata)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            model(images, metadata)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - start)


def write_images(folder: Path, n: int) -> list[str]:
    """``n`` demo particle images of all classes as PNG files."""
    classes = read_class_table(REPO / "resources/particles/demo_classes.csv")
    rng = rng_for(1, "benchmark")
    paths = []
    for index in range(n):
        path = folder / f"img_{index:05d}.png"
        save_png(draw_particle(classes.loc[CLASSES[index % len(CLASSES)]], rng), path)
        paths.append(str(path))
    return paths


def loading_rate(paths: list[str], size: int) -> float:
    """Images/s of one loader worker: decode, resize and FlowCam metadata by regionprops."""
    dataset = UnlabelledImages(paths, size, MetadataScaler(np.zeros(34), np.ones(34)))
    start = time.perf_counter()
    for index in range(len(dataset)):
        dataset[index]
    return len(dataset) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_images(Path(tmp), args.images)
        for preset, shape in PRESETS.items():
            load = loading_rate(paths, shape["size"])
            forward = model_rate(shape["size"], shape["width"], torch.device("cpu"), batch=64, repeats=3)
            model_path = Path(tmp) / f"{preset}.pt"
            model = ParticleNet(len(METADATA_COLUMNS), len(CLASSES), shape["width"])
            save_model(
                model,
                model_path,
                CLASSES,
                MetadataScaler(np.zeros(34), np.ones(34)),
                shape["size"],
                metadata=metadata_record("pixels", METADATA_COLUMNS),
            )
            listing = pd.DataFrame({"path": paths, "sample": "bench"})
            start = time.perf_counter()
            classify_images(
                model_path, listing, torch.device("cpu"), batch_size=64, workers=args.workers, embeddings=False
            )
            pipeline = len(paths) / (time.perf_counter() - start)
            rows.append(
                {
                    "preset": preset,
                    "device": "cpu (1 thread)",
                    "model_img_per_s": forward,
                    "loading_img_per_s_per_worker": load,
                    "loading_over_model": load / forward,
                    f"pipeline_img_per_s ({args.workers} worker + 1 thread)": pipeline,
                    f"hours_for_3M_on_{cores}_cores": GRIP_IMAGES / (min(forward, load) * cores / 2) / 3600,
                }
            )
            if torch.cuda.is_available():
                gpu = model_rate(shape["size"], shape["width"], torch.device("cuda"), batch=1024, repeats=10)
                rows.append(
                    {
                        "preset": preset,
                        "device": "cuda (AMP)",
                        "model_img_per_s": gpu,
                        "loading_img_per_s_per_worker": load,
                        "loading_over_model": load / gpu,
                        "workers_needed_to_feed_gpu": gpu / load,
                        "hours_for_3M_model_only": GRIP_IMAGES / gpu / 3600,
                    }
                )
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).round(2).to_string(index=False))
    print(
        f"Projection for 3M images on this machine's {cores} cores: half the cores run loader workers, half the "
        "model (the slower of the two sets the rate). loading_over_model > 1: a worker outpaces a model thread."
    )


if __name__ == "__main__":
    main()
