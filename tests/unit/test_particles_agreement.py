"""Particles: pixel-derived metadata against FlowCam's own table (synthetic columns, then the real FlowCam images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.particles.agreement import flowcam_image_paths, metadata_agreement, pixel_metadata

FLOWCAM = "VickoT/FlowCam_Image_Classifier/5d73e30c05686da464b0bb5f0542c6bcc35311b2/Training/data"


def test_a_column_within_its_scale_is_trusted_and_a_shuffled_one_is_not() -> None:
    rng = np.random.default_rng(1)
    measured = pd.DataFrame({"Length": rng.uniform(5, 50, 300), "Width": rng.uniform(2, 20, 300)})
    derived = pd.DataFrame({"Length": measured["Length"] * 1.05, "Width": rng.permutation(measured["Width"])})
    table = metadata_agreement(measured, derived).set_index("column")
    assert table.loc["Length", "median_ratio"] == pytest.approx(1.05)
    assert table.loc["Length", "spearman_rho"] == pytest.approx(1.0)
    assert table.loc["Length", "trusted"] and not table.loc["Width", "trusted"]
    assert abs(table.loc["Width", "pearson_r"]) < 0.2


def test_pixel_metadata_of_real_flowcam_images_track_flowcam_sizes(mirror: Path) -> None:
    data = mirror / FLOWCAM
    table = pd.read_csv(data / "initial_data_preparation.csv").iloc[::15]  # 200 particles of all runs
    pixels = pixel_metadata(flowcam_image_paths(table, data / "classes"), table["Calibration Factor"].to_numpy(float))
    agreement = metadata_agreement(table, pixels).set_index("column")
    assert len(agreement) == 32  # FlowCam's table has all but the two biovolumes
    # sizes rank the particles alike, the grey level agrees within 10 %; see the benchmark for every column
    assert agreement.loc["Area (ABD)", "spearman_rho"] > 0.7
    assert agreement.loc["Intensity", "median_relative_error"] < 0.1


def test_a_missing_image_of_the_table_is_named(tmp_path: Path) -> None:
    table = pd.DataFrame({"Class": ["Junk"], "File_name": ["run_0001.png"]})
    with pytest.raises(FileNotFoundError, match=r"run_0001\.png"):
        flowcam_image_paths(table, tmp_path)
