"""FlowCam-like shape and grey-level metadata of one particle image, from scikit-image region properties.

The demo generator and inference on images without a FlowCam table both call :func:`flowcam_metadata`, so
the metadata of an image always follows from its pixels. The definitions follow the FlowCam manual where
they are published (ABD/ESD diameters, circularity, compactness, convexity, geodesic length and thickness
from perimeter and area, biovolumes) and are documented approximations otherwise (Roughness as the mean
absolute Laplacian inside the particle, Transparency as the fraction of the particle as bright as the
background, Symmetry as the overlap of the particle with its point reflection, Circle Fit from the spread
of the boundary radius).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure

from fingerprintml.particles.schema import METADATA_COLUMNS

# Microns per pixel of the FlowCam 80 with its 20x objective (order of magnitude; the scaler standardises).
MICRONS_PER_PIXEL = 0.5


def background_level(image: np.ndarray) -> tuple[float, float]:
    """Median and robust spread (1.4826 MAD, at least 1) of the image border, where FlowCam crops show no particle."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(float)
    median = float(np.median(border))
    spread = max(1.0, 1.4826 * float(np.median(np.abs(border - median))))
    return median, spread


def particle_mask(image: np.ndarray) -> tuple[np.ndarray, int]:
    """Filled mask of the largest particle (pixels departing from the background) and the number of particles."""
    level, spread = background_level(image)
    departs = np.abs(image.astype(float) - level) > max(8.0, 4.0 * spread)
    departs = ndimage.binary_closing(departs, iterations=1)
    labels, count = ndimage.label(departs)
    if count == 0:
        mask = np.zeros(image.shape, dtype=bool)
        mask[np.unravel_index(np.argmin(image), image.shape)] = True
        return mask, 0
    sizes = ndimage.sum_labels(departs, labels, index=np.arange(1, count + 1))
    mask = ndimage.binary_fill_holes(labels == int(np.argmax(sizes)) + 1)
    return mask, int(count)


def _symmetry(mask: np.ndarray, centroid: tuple[float, float]) -> float:
    rows, cols = np.nonzero(mask)
    mirrored_r = np.rint(2 * centroid[0] - rows).astype(int)
    mirrored_c = np.rint(2 * centroid[1] - cols).astype(int)
    inside = (mirrored_r >= 0) & (mirrored_r < mask.shape[0]) & (mirrored_c >= 0) & (mirrored_c < mask.shape[1])
    hits = np.zeros(rows.shape, dtype=bool)
    hits[inside] = mask[mirrored_r[inside], mirrored_c[inside]]
    return float(hits.mean())


def _circle_fit(mask: np.ndarray, centroid: tuple[float, float]) -> float:
    contours = measure.find_contours(mask.astype(float), 0.5)
    if not contours:
        return 0.0
    boundary = max(contours, key=len)
    radius = np.hypot(boundary[:, 0] - centroid[0], boundary[:, 1] - centroid[1])
    return float(max(0.0, 1.0 - radius.std() / max(radius.mean(), 1e-9)))


def flowcam_metadata(image: np.ndarray, microns_per_pixel: float = MICRONS_PER_PIXEL) -> dict[str, float]:
    """The 34 metadata columns (:data:`METADATA_COLUMNS`) of a grey-level particle image (2-D, 0-255).

    Parameters
    ----------
    image
        The particle image.
    microns_per_pixel
        The pixel size (FlowCam's ``Calibration Factor`` of the run where known).
    """
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grey-level image, got shape {image.shape}")
    pixels = image.astype(float)
    mask, n_particles = particle_mask(image)
    region = measure.regionprops(mask.astype(np.uint8), intensity_image=pixels)[0]
    um = microns_per_pixel
    area = float(region.area) * um**2
    perimeter = max(float(region.perimeter), 1.0) * um
    convex_perimeter = max(float(measure.perimeter(region.image_convex)), 1.0) * um
    length = max(float(region.feret_diameter_max), 1.0) * um
    width = max(float(region.axis_minor_length), 1.0) * um
    d_abd = 2.0 * np.sqrt(area / np.pi)
    d_esd = (length + width) / 2.0
    geodesic_length = (perimeter + np.sqrt(max(perimeter**2 - 16.0 * area, 0.0))) / 4.0
    geodesic_thickness = area / max(geodesic_length, 1e-9)
    inside = pixels[mask]
    level, spread = background_level(image)
    gradient = ndimage.generic_gradient_magnitude(pixels, ndimage.sobel)
    boundary = mask & ~ndimage.binary_erosion(mask)
    laplacian = np.abs(ndimage.laplace(ndimage.gaussian_filter(pixels, 1.0)))
    mu = region.moments_central
    angle = float(np.degrees(region.orientation)) % 180.0
    values = {
        "Area (ABD)": area,
        "Area (Filled)": float(region.area_filled) * um**2,
        "Aspect Ratio": width / length,
        "Biovolume (Cylinder)": np.pi / 4.0 * width**2 * length,
        "Biovolume (P. Spheroid)": np.pi / 6.0 * width**2 * length,
        "Circle Fit": _circle_fit(mask, region.centroid),
        "Circularity": 4.0 * np.pi * area / perimeter**2,
        "Circularity (Hu)": float(mu[0, 0] ** 2 / (2.0 * np.pi * max(mu[2, 0] + mu[0, 2], 1e-9))),
        "Compactness": perimeter**2 / (4.0 * np.pi * area),
        "Convex Perimeter": convex_perimeter,
        "Convexity": min(1.0, convex_perimeter / perimeter),
        "Diameter (ABD)": d_abd,
        "Diameter (ESD)": d_esd,
        "Edge Gradient": float(gradient[boundary].mean()),
        "Elongation": 1.0 - width / length,
        "Feret Angle Max": angle,
        "Feret Angle Min": (angle + 90.0) % 180.0,
        "Fiber Curl": max(0.0, geodesic_length / length - 1.0),
        "Fiber Straightness": min(1.0, length / max(geodesic_length, 1e-9)),
        "Geodesic Aspect Ratio": geodesic_thickness / max(geodesic_length, 1e-9),
        "Geodesic Length": geodesic_length,
        "Geodesic Thickness": geodesic_thickness,
        "Intensity": float(inside.mean()),
        "Length": length,
        "Particles Per Chain": float(max(n_particles, 1)),
        "Perimeter": perimeter,
        "Roughness": float(laplacian[mask].mean()),
        "Sigma Intensity": float(inside.std()),
        "Sum Intensity": float(inside.sum()),
        "Symmetry": _symmetry(mask, region.centroid),
        "Transparency": float((np.abs(inside - level) <= max(8.0, 4.0 * spread)).mean()),
        "Volume (ABD)": np.pi / 6.0 * d_abd**3,
        "Volume (ESD)": np.pi / 6.0 * d_esd**3,
        "Width": width,
    }
    return {name: float(values[name]) for name in METADATA_COLUMNS}
