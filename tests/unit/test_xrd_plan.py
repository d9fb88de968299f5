"""Planning of the xrd study: dataset sources, shards, job memory, all without scipy, torch or pymatgen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fingerprintml.xrd.plan import (
    built_datasets,
    check_user_library,
    conversion_input,
    conversion_shards,
    count_rows,
    count_urls,
    demo_shards,
    grid_points,
    job_memory_mb,
    list_cifs,
    query_dir,
    registry_keys,
    shard_source,
    source_kind,
    training_set_mb,
)

REPO = Path(__file__).resolve().parents[2]


def test_planning_module_and_rule_helpers_import_without_heavy_packages() -> None:
    """The rule file's imports load with scipy, torch, pymatgen, PIL and skimage blocked."""
    code = (
        "import sys\n"
        "for name in ['scipy', 'torch', 'pymatgen', 'PIL', 'skimage', 'numba']:\n"
        "    sys.modules[name] = None\n"
        "import fingerprintml.xrd.plan, fingerprintml.shards, fingerprintml.datasets\n"
    )
    rule_imports = [
        line
        for line in (REPO / "workflow/rules/xrd.smk").read_text().splitlines()
        if line.startswith(("from ", "import "))
    ]
    assert "from fingerprintml.xrd import plan as xrd_plan" in rule_imports
    code += "\n".join(rule_imports) + "\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src")}
    )
    assert proc.returncode == 0, proc.stderr


def test_each_configured_dataset_names_one_source() -> None:
    datasets = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]["datasets"]
    assert {name: source_kind(name, block) for name, block in datasets.items()} == {
        "demo": "demo_library",
        "paper": "cod_list",
        "dara": "cifs",
        "dara_decoys": "cifs",
        "user": "user",
    }
    with pytest.raises(ValueError, match="exactly one of"):
        source_kind("both", {"demo_library": {}, "cod_list": "x"})
    with pytest.raises(ValueError, match="exactly one of"):
        source_kind("none", {"grid": {}})
    with pytest.raises(ValueError, match=r"xrd\.cif_dir"):
        source_kind("user", {"cod_list": "x"})


def test_grid_points_include_both_ends() -> None:
    assert grid_points(10.0, 90.0, 0.1) == 801
    assert grid_points(0.0, 120.0, 0.02) == 6001  # the original's grid


def test_training_set_memory_is_phases_copies_points_float32(tmp_path: Path) -> None:
    grid = {"start": 0.0, "stop": 120.0, "step": 0.02}
    training = {"copies": 100, "validation_copies": 5}
    # The paper run: 8,172 phases x 105 copies x 6,001 points x 4 bytes.
    assert training_set_mb(grid, training, 8172) == pytest.approx(8172 * 105 * 6001 * 4 / 1e6)
    assert 20_000 < training_set_mb(grid, training, 8172) < 21_000
    phases = tmp_path / "phases.csv"
    phases.write_text("phase_id,formula\n" + "".join(f"p{i},X\n" for i in range(150)))
    assert count_rows(phases) == 150
    demo = {"start": 10.0, "stop": 90.0, "step": 0.1}
    expected = 4000 + 2 * 150 * 42 * 801 * 4 / 1e6
    block = {"grid": demo, "training": {"copies": 40, "validation_copies": 2}}
    assert job_memory_mb(block, phases, 2) == int(expected)


def test_user_cif_folder_is_listed_sorted_and_bad_folders_are_named(tmp_path: Path) -> None:
    for name in ["b.cif", "a.CIF", "notes.txt"]:
        (tmp_path / name).write_text("x")
    assert [Path(p).name for p in list_cifs(tmp_path)] == ["a.CIF", "b.cif"]
    with pytest.raises(ValueError, match="is not a directory"):
        list_cifs(tmp_path / "missing")
    with pytest.raises(ValueError, match="not set"):
        list_cifs(None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \.cif file"):
        list_cifs(empty)


def test_url_count_skips_blank_lines(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("http://a/1.cif\n\nhttp://a/2.cif\n")
    assert count_urls(urls) == 2


def test_user_dataset_is_built_whenever_the_cif_folder_is_set() -> None:
    assert built_datasets(["demo"], None) == ["demo"]
    assert built_datasets(["demo", "paper"], "my_cifs") == ["demo", "paper", "user"]
    assert built_datasets(["user"], "my_cifs") == ["user"]


def test_conversion_shards_and_inputs_follow_the_source(tmp_path: Path) -> None:
    for name in ["c.cif", "a.cif", "b.cif"]:
        (tmp_path / name).write_text("x")
    demo = {"demo_library": {"min_spacing": 0.03, "shards": 3}}
    paper = {"cod_list": "xrd/COD-selection.txt"}
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"http://a/{i}.cif\n" for i in range(401)))

    def unreachable() -> str:
        raise AssertionError("only a COD dataset reads its URL list")

    assert conversion_shards("demo", demo, 200, cod_urls=unreachable, cif_dir=None) == ["00000", "00001", "00002"]
    assert conversion_shards("paper", paper, 200, cod_urls=lambda: str(urls), cif_dir=None)[-1] == "00002"
    assert conversion_shards("user", {}, 2, cod_urls=unreachable, cif_dir=str(tmp_path)) == ["00000", "00001"]
    kwargs = {"results": "results/xrd/x", "cif_dir": str(tmp_path)}
    assert conversion_input("demo", demo, "00001", 2, **kwargs) == {"cifs": "results/xrd/x/cifs"}
    assert conversion_input("paper", paper, "00001", 2, **kwargs) == {"cifs": "results/xrd/x/cod/fetch/00001.csv"}
    assert conversion_input("user", {}, "00001", 2, **kwargs) == {"cifs": [str(tmp_path / "c.cif")]}
    assert demo_shards(demo) == 3 and demo_shards(paper) is None
    with pytest.raises(ValueError, match=r"xrd\.query_dir is not set"):
        query_dir(None)


def test_a_user_library_too_small_for_the_demo_queries_or_top5_stops_the_planning(tmp_path: Path) -> None:
    identify = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]["identify"]
    for n in range(4):
        (tmp_path / f"phase{n}.cif").write_text("data_x\n")
    with pytest.raises(ValueError) as info:
        check_user_library(str(tmp_path), identify)
    assert str(info.value).startswith(f"config: xrd.cif_dir = {str(tmp_path)!r}: 4 CIF files, fewer than the 6 phases")
    for n in range(4, 6):
        (tmp_path / f"phase{n}.cif").write_text("data_x\n")
    check_user_library(str(tmp_path), identify)
    with pytest.raises(ValueError, match=r"lower xrd\.identify\.simulated_queries"):
        check_user_library(str(tmp_path), {**identify, "simulated_queries": 7})
    check_user_library(None, identify)


def test_declared_cifs_are_one_shard_and_decoys_the_demo_library_shards_after_it() -> None:
    keys = ["xrd/dara/cifs/B.cif", "xrd/dara/cifs/A.cif", "xrd/dara/patterns/x.xrdml", "xrd/dara/cifsx/C.cif"]
    assert registry_keys("xrd/dara/cifs", keys) == ["xrd/dara/cifs/A.cif", "xrd/dara/cifs/B.cif"]
    with pytest.raises(ValueError, match="xrd/none/"):
        registry_keys("xrd/none", keys)
    declared = {"cifs": "xrd/dara/cifs/"}
    decoys = {**declared, "decoys": {"min_spacing": 0.03, "shards": 2}}
    kwargs = {"results": "results/xrd/x", "cif_dir": None, "declared": lambda folder: registry_keys(folder, keys)}
    assert conversion_shards("dara", declared, 200, cod_urls=None, cif_dir=None) == ["00000"]
    assert conversion_shards("d", decoys, 200, cod_urls=None, cif_dir=None) == ["00000", "00001", "00002"]
    assert conversion_input("d", decoys, "00000", 200, **kwargs) == {"cifs": keys[1::-1]}
    assert conversion_input("d", decoys, "00002", 200, **kwargs) == {"cifs": "results/xrd/x/cifs"}
    assert [shard_source("d", decoys, s) for s in ["00000", "00001", "00002"]] == [
        ("user", "00000"),
        ("demo_library", "00000"),
        ("demo_library", "00001"),
    ]
    assert demo_shards(decoys) == 2 and demo_shards(declared) is None
    assert shard_source("demo", {"demo_library": {}}, "00003") == ("demo_library", "00003")
