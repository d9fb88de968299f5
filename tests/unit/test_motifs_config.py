"""The motifs config: one block per dataset, checked by the schema (a dataset is downloaded or generated, `user`
holds sizes only, a new name is one more block)."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from fingerprintml.datasets import dataset_settings, lookup, requested_datasets
from fingerprintml.motifs import layout

REPO = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "motifs.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["motifs"]


def errors(config: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [error.message for error in validator.iter_errors(config)]


def test_config_yaml_is_valid_and_the_paper_files_are_declared_downloads() -> None:
    assert errors(CONFIG) == []
    registry = yaml.safe_load((REPO / "resources" / "remote_files.yaml").read_text())
    remote = dataset_settings(CONFIG, "motifs", "paper")["remote"]
    assert set(remote) == {"structure", "data"}
    assert all(key in registry for key in remote.values())
    assert lookup(dataset_settings(CONFIG, "motifs", "user"), "model.n_calls") >= 2


def test_a_new_dataset_is_one_block_and_a_list_builds_several() -> None:
    config = copy.deepcopy(CONFIG)
    config["datasets"]["noisy"] = {
        **config["datasets"]["demo"],
        "generator": {**config["datasets"]["demo"]["generator"]},
    }
    config["datasets"]["noisy"]["generator"]["noise"] = 0.1
    config["dataset"] = ["demo", "noisy"]
    assert errors(config) == []
    assert requested_datasets(config, "motifs") == ["demo", "noisy"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["datasets"]["paper"].update(generator=c["datasets"]["demo"]["generator"]), "valid under each"),
        (lambda c: c["datasets"]["demo"].pop("generator"), "is not valid under any"),
        (lambda c: c["datasets"]["user"].update(remote=c["datasets"]["paper"]["remote"]), "remote"),
        (lambda c: c["datasets"]["demo"].pop("shard_size"), "shard_size"),
        (lambda c: c["datasets"]["demo"].update(cutout=10), "cutout"),
        (lambda c: c.update(dataset=["demo", "demo"]), "demo"),
        (lambda c: c.update(cutouts={"demo": 3000, "paper": 10000}), "cutouts"),
        (lambda c: c["motif"]["refine"].update(width=["delta3"]), "delta3"),
        (lambda c: c["pdf"].pop("delta1"), "delta1"),
    ],
)
def test_a_wrong_block_is_rejected_naming_what_is_wrong(edit, message: str) -> None:
    config = copy.deepcopy(CONFIG)
    edit(config)
    found = errors(config)
    assert found and any(message in text for text in found), found


def with_input(config: dict, structure: str | None, data: str | None, dataset=None) -> dict:
    config = copy.deepcopy(config)
    config["input"] = {"structure": structure, "data": data}
    if dataset is not None:
        config["dataset"] = dataset
    return config


def test_the_users_data_is_built_instead_of_the_datasets_unless_they_name_user() -> None:
    assert layout.built_datasets(CONFIG) == ["demo"]
    assert layout.built_datasets(with_input(CONFIG, "my.xyz", "my.gr")) == ["user"]
    assert layout.built_datasets(with_input(CONFIG, "my.xyz", "my.gr", ["demo", "user"])) == ["demo", "user"]
    with pytest.raises(ValueError, match="both structure and data"):
        layout.built_datasets(with_input(CONFIG, "my.xyz", None))
    with pytest.raises(ValueError, match=r"motifs\.input"):
        layout.built_datasets(with_input(CONFIG, None, None, "user"))
    with pytest.raises(ValueError, match="known datasets: clusterfinder, demo, paper, user"):
        layout.built_datasets(with_input(CONFIG, None, None, "papers"))


def test_each_dataset_finds_its_own_files() -> None:
    config = with_input(CONFIG, "my.xyz", "my.gr")
    downloaded = "downloads/{}".format
    assert layout.source(config, "user", "data", downloaded) == "my.gr"
    assert layout.source(config, "paper", "structure", downloaded) == "downloads/motifs/Structure_Models/109725.xyz"
    assert layout.source(config, "demo", "data", downloaded) == "results/motifs/demo/generated/data.gr"
    assert layout.is_generated(config, "demo") and not layout.is_generated(config, "paper")
    assert not layout.is_generated(config, "user")


def test_shards_and_figure_inputs_are_the_datasets_own() -> None:
    shards = layout.shard_files(CONFIG, "paper", "fits")
    assert shards == [f"results/motifs/paper/fits/shard_0000{k}.csv" for k in range(4)]  # 10,000 in 2,500s
    assert len(layout.shard_files(CONFIG, "demo", "fits_srreal")) == 2
    assert layout.figure_inputs(CONFIG, "user", "rw_distribution") == {
        "fits": "results/motifs/user/fits.csv",
        "result": "results/motifs/user/motif_fit.json",
    }


def test_a_fits_table_replaces_the_catalogue_and_the_pdf_fits() -> None:
    config = copy.deepcopy(CONFIG)
    config["input"] = {"structure": "my.xyz", "data": None, "fits": "my_fits.csv"}
    assert not errors(config)
    assert layout.built_datasets(config) == ["user"]
    assert layout.catalogue_file(config, "user") == "results/motifs/user/imported/catalogue.csv"
    assert layout.fits_file(config, "user") == "results/motifs/user/imported/fits.csv"
    assert layout.fits_file(config, "paper") == "results/motifs/paper/fits.csv"
    # Without a PDF there is no motif refinement; the motif, its confidence and the interactive view remain.
    files = layout.result_files(config, "user")
    assert "results/motifs/user/atoms.csv" in files and "results/motifs/user/figures/structure_acv.html" in files
    assert not any("motif_fit" in path or "rw_distribution" in path for path in files)
    config["input"]["data"] = "my.gr"
    assert "results/motifs/user/motif_fit.json" in layout.result_files(config, "user")
    assert layout.figure_inputs(config, "user", "rw_distribution")["fits"] == "results/motifs/user/imported/fits.csv"
    config["input"] = {"structure": None, "data": None, "fits": "my_fits.csv"}
    with pytest.raises(ValueError, match="structure and the table"):
        layout.built_datasets(config)
