"""The demo data set: FlowCam-like particle images drawn per class, at the paper's layout.

Each row of ``resources/particles/demo_classes.csv`` describes a class: how many images in how many
acquisition sessions, the particle diameter distribution (pixels), the outline (a polygon of ``vertices``
corners with radial ``vertex_jitter``, or a smooth outline with ``lobes``-fold bumps and random harmonics),
elongation, interior grey level relative to the background and its texture (smoothed noise of
``texture_scale`` px), a dark rim, dark spots (vesicles) and the focus blur range. The classes overlap in
size and grey level as the real ones do (Q. robur and Q. suber most of all). Metadata columns are computed
from each image by :func:`fingerprintml.particles.shape.flowcam_metadata`, never drawn separately.

Layout (as the paper's record): ``datasets/<class>.csv`` (``imgpaths`` relative to the data root + the 34
metadata columns), ``images/<class>/<session>_<n>.png`` and ``datasets/test/<sample>/*.png`` (unlabelled).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage
from skimage import draw

from fingerprintml.io import read_table_with, write_table
from fingerprintml.logs import progress
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS
from fingerprintml.particles.shape import flowcam_metadata
from fingerprintml.seeds import rng_for

CLASS_COLUMNS = [
    "class",
    "prefix",
    "n",
    "sessions",
    "diameter_mean",
    "diameter_sd",
    "diameter_min",
    "elongation",
    "vertices",
    "vertex_jitter",
    "lobes",
    "lobe_amplitude",
    "harmonic_amplitude",
    "interior",
    "interior_sd",
    "texture_scale",
    "rim",
    "rim_width",
    "spots",
    "blur_min",
    "blur_max",
]
MAX_DIAMETER = 260
CORRUPT_NAME = "corrupt_0000.png"


def read_class_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and check the demo class table: every column present, one row per class of :data:`CLASSES`."""
    table = read_table_with(path, CLASS_COLUMNS)
    if sorted(table["class"]) != sorted(CLASSES):
        raise ValueError(f"{path}: classes {sorted(table['class'])} differ from {sorted(CLASSES)}")
    if (table[["n", "sessions"]] < 1).any().any() or (table["blur_max"] < table["blur_min"]).any():
        raise ValueError(f"{path}: n and sessions must be positive and blur_max >= blur_min")
    return table.set_index("class", drop=False)


def _outline(spec: pd.Series, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Boundary points (angle-ordered, relative to the centre) of one particle."""
    if int(spec["vertices"]) > 0:
        n = rng.integers(int(spec["vertices"]), 2 * int(spec["vertices"]) + 1)
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * (1 - float(spec["vertex_jitter"]) * rng.uniform(0, 1, n))
    else:
        angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        radii = np.full(angles.shape, radius)
        if int(spec["lobes"]) > 0:
            radii *= 1 + float(spec["lobe_amplitude"]) * np.cos(int(spec["lobes"]) * angles + rng.uniform(0, 2 * np.pi))
        for k in range(2, 6):
            amplitude = float(spec["harmonic_amplitude"]) * rng.normal()
            radii *= 1 + amplitude * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    stretch = 1 - float(spec["elongation"]) * rng.uniform(0, 1)
    turn = rng.uniform(0, np.pi)
    x, y = radii * np.cos(angles), radii * np.sin(angles) * stretch
    return np.column_stack([x * np.cos(turn) - y * np.sin(turn), x * np.sin(turn) + y * np.cos(turn)])


def draw_particle(spec: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """One grey-level particle image (uint8) of the class described by ``spec``."""
    diameter = float(
        np.clip(rng.normal(spec["diameter_mean"], spec["diameter_sd"]), spec["diameter_min"], MAX_DIAMETER)
    )
    points = _outline(spec, diameter / 2, rng)
    margin = int(rng.integers(6, 20)) + int(3 * spec["blur_max"])
    offset = points.min(axis=0) - margin
    points = points - offset
    shape = (int(np.ceil(points[:, 1].max())) + margin, int(np.ceil(points[:, 0].max())) + margin)
    mask = np.zeros(shape, dtype=bool)
    rr, cc = draw.polygon(points[:, 1], points[:, 0], shape)
    mask[rr, cc] = True
    if not mask.any():
        mask[shape[0] // 2, shape[1] // 2] = True
    background = rng.normal(132, 6)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, shape), float(spec["texture_scale"]))
    texture *= float(spec["interior_sd"]) / max(texture.std(), 1e-9)
    image = np.full(shape, background)
    image[mask] = background + float(spec["interior"]) + texture[mask]
    depth = ndimage.distance_transform_edt(mask)
    rim = mask & (depth <= float(spec["rim_width"]))
    image[rim] = background + float(spec["rim"]) + 0.3 * texture[rim]
    for _ in range(int(rng.poisson(spec["spots"])) if spec["spots"] else 0):
        inside = np.argwhere(depth > 4)
        if len(inside) == 0:
            break
        r, c = inside[rng.integers(len(inside))]
        sr, sc = draw.disk((r, c), rng.uniform(1.0, 3.5), shape=shape)
        image[sr, sc] = background - 60
    image = ndimage.gaussian_filter(image, rng.uniform(spec["blur_min"], spec["blur_max"]))
    image += rng.normal(0, 2.0, shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def save_png(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image, mode="L").save(path, optimize=False)


def draw_class(classes: pd.DataFrame, name: str, root: Path, seed: int) -> pd.DataFrame:
    """Draw the labelled images of class ``name`` under ``root/images/<name>`` and return its table."""
    spec = classes.loc[name]
    rng = rng_for(seed, "particles-demo", name)
    n_sessions = int(spec["sessions"])
    sessions = rng.multinomial(int(spec["n"]) - n_sessions, np.ones(n_sessions) / n_sessions) + 1
    rows = []
    for session, count in enumerate(progress(sessions, desc=f"demo {name}")):
        if name == "cont":
            stem = f"{spec['prefix']}_{session + 1}"
        else:
            stem = f"{spec['prefix']}_{3 + session}nov_{session + 1}_fc80_20x"
        for index in range(int(count)):
            image = draw_particle(spec, rng)
            relative = f"images/{name}/{stem}_{index + 1}.png"
            save_png(image, root / relative)
            rows.append({"imgpaths": relative, **flowcam_metadata(image)})
    return pd.DataFrame(rows, columns=["imgpaths", *METADATA_COLUMNS])


def draw_sample(classes: pd.DataFrame, sample: str, root: Path, seed: int, per_sample: int) -> list[str]:
    """Draw the unlabelled images of one ice-core sample under ``root/datasets/test/<sample>/``.

    Each sample mixes the classes in its own proportions (a Dirichlet draw), as depth intervals of a core do.
    """
    rng = rng_for(seed, "particles-demo-unlabelled", sample)
    weights = rng.dirichlet(np.ones(len(CLASSES)))
    written = []
    for index, class_index in enumerate(rng.choice(len(CLASSES), size=per_sample, p=weights)):
        relative = f"datasets/test/{sample}/{sample}_0_20_1_{index + 1}.png"
        save_png(draw_particle(classes.loc[CLASSES[class_index]], rng), root / relative)
        written.append(relative)
    return written


def write_demo_dataset(
    classes: pd.DataFrame, root: str | os.PathLike[str], seed: int, per_sample: int, samples: int, workers: int = 1
) -> None:
    """Write the whole demo data set at the paper's layout under ``root``, classes and samples in ``workers``
    processes (each has its own seeded stream, so the images do not depend on ``workers``). One corrupt file
    is added to the first sample to exercise the inference's skip path."""
    root = Path(root)
    names = [f"GRIP_{3046 + i}" for i in range(samples)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        tables = {name: pool.submit(draw_class, classes, name, root, seed) for name in CLASSES}
        drawn = [pool.submit(draw_sample, classes, sample, root, seed, per_sample) for sample in names]
        for name, table in tables.items():
            write_table(table.result(), root / "datasets" / f"{name}.csv")
        for job in drawn:
            job.result()
    (root / "datasets" / "test" / names[0] / CORRUPT_NAME).write_bytes(
        b"\x89PNG\r\n\x1a\n truncated by the demo generator"
    )
