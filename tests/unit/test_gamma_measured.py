"""The measured gamma datasets (opengamma, baldr): the truth of every spectrum from its file name or source
description, the benchmark's counting of found labels and other nuclides, the block's schema and its keys."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from fingerprintml.config_errors import describe_validation_error
from fingerprintml.download import load_registry
from fingerprintml.gamma import plan
from fingerprintml.gamma.formats import read_sampleset
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.measured import (
    BACKGROUND,
    NATURAL_SAMPLES,
    NUCLIDE,
    benchmark_summary,
    benchmark_table,
    spectrum_truth,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "gamma.schema.yaml").read_text())
REGISTRY = load_registry(REPO / "resources" / "remote_files.yaml")
LIBRARY = read_nuclide_library(REPO / CONFIG["identify"]["library"])
BALDR = "sandialabs/BALDR-Study-07.05/56a62d8fc0495655c68ad1b83e0c6067067932c5/study/data"


def opengamma_spectra() -> list[str]:
    return [Path(k).name for k in plan.measured_keys(CONFIG, "opengamma", REGISTRY) if k.endswith(".html")]


def test_every_opengamma_file_name_gives_a_library_nuclide_or_a_natural_sample() -> None:
    names = opengamma_spectra()
    truths = {name: spectrum_truth(name, "file_name") for name in names}
    assert len(truths) == 36
    natural = sorted(n for n, t in truths.items() if t in NATURAL_SAMPLES)
    assert natural == sorted(f"{s}.html" for s in NATURAL_SAMPLES)
    nuclides = set(LIBRARY["nuclide"])
    single = {n: t for n, t in truths.items() if t not in NATURAL_SAMPLES}
    # Er-169 (no photon line in the evaluated data) is not in the library: never found
    assert len(single) == 29 and set(single.values()) - nuclides == {"Er-169"}
    # the name is the nuclide (metastable states kept), but for the parent-daughter pair named by both
    assert {n: t for n, t in single.items() if f"{t}.html" != n} == {"Ge-68_Ga-68.html": "Ge-68"}
    assert truths["Lu-177m.html"] == "Lu-177m" and truths["Tc-99m.html"] == "Tc-99m"


def test_every_baldr_source_description_gives_its_nuclide_and_the_background_none(mirror: Path) -> None:
    spectra = read_sampleset(mirror / BALDR / "measurements.h5")
    truths = [spectrum_truth(s.name, "source_description") for s in spectra]
    assert len(truths) == 23 and truths.count(BACKGROUND) == 1
    assert set(truths) - {BACKGROUND} == {"Am-241", "Ba-133", "Bi-207", "Co-60", "Cs-137", "U-232"}
    # every measured source is one of the study's seed isotopes (seeds.yaml, written Am241 as in the SampleSet;
    # its other seeds, e.g. Cosmic, are background components)
    seeds = [s["isotope"] for s in yaml.safe_load((mirror / BALDR / "seeds.yaml").read_text())["sources"]]
    isotopes = {spectrum_truth(f"seeds.yaml[0] {s}", "source_description") for s in seeds if NUCLIDE.match(s)}
    assert set(truths) - {BACKGROUND} <= isotopes and all(truths.count(t) >= 3 for t in set(truths) - {BACKGROUND})


@pytest.mark.parametrize(
    ("name", "source"),
    [("Sample 7.html", "file_name"), ("measurements.h5 Cs137", "source_description"), ("x.html", "label")],
)
def test_a_name_without_a_truth_is_an_error_naming_it(name: str, source: str) -> None:
    with pytest.raises(ValueError, match=r"Sample 7|measurements.h5 Cs137|truth source"):
        spectrum_truth(name, source)


def identification(rows: dict[str, str], background: dict[str, str] | None = None) -> pd.DataFrame:
    background = background or {}
    return pd.DataFrame(
        {
            "file": list(rows),
            "peak_nuclides": list(rows.values()),
            "peak_background": [background.get(f, "") for f in rows],
            "unexplained_peaks": "",
        }
    )


def test_the_benchmark_counts_daughters_and_natural_lines_as_no_others() -> None:
    truths = {"a": "U-232", "b": "Cs-137", "c": "Pitchblende", "d": BACKGROUND, "e": BACKGROUND, "f": "Co-60"}
    truths["g"] = BACKGROUND
    reported = {"a": "U-232+Th-232+Am-241", "b": "Cs-137+K-40+Co-60+Eu-152", "c": "U-238+K-40", "d": ""}
    rows = identification({**reported, "e": "Am-241", "f": "", "g": "K-40"}, {"d": "K-40+Th-232", "g": "Th-232"})
    table = benchmark_table(rows, LIBRARY, truths).set_index("file")
    # a background passes with its natural lines listed as background, not with any source (g: K-40 as a source)
    found = {"a": True, "b": True, "c": True, "d": True, "e": False, "f": False, "g": False}
    assert table["labelled_found"].to_dict() == found
    assert table.at["d", "background"] == "K-40+Th-232"
    assert table["n_others"].to_dict() == {"a": 1, "b": 2, "c": 0, "d": 0, "e": 1, "f": 0, "g": 0}
    assert table.at["b", "others"] == "Co-60+Eu-152"
    summary = benchmark_summary(table.reset_index(), {"labelled": 0.5, "background": 1.0}).set_index("target")
    assert summary.loc["labelled", ["spectra", "passed"]].tolist() == [3, 2]
    assert summary.at["labelled", "reached"] and not summary.at["background", "reached"]
    assert summary.at["at_most_one_other", "passed"] == 2 and summary.at["at_most_one_other", "reached"] == ""
    assert summary.at["natural", "spectra"] == 1


def test_the_measured_blocks_are_valid_and_a_wrong_key_is_named() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert [e.message for e in validator.iter_errors(CONFIG)] == []
    wrong = copy.deepcopy(CONFIG)
    wrong["datasets"]["baldr"]["measured"]["detektor"] = "nai"
    first = describe_validation_error(jsonschema.exceptions.best_match(validator.iter_errors(wrong))).splitlines()[0]
    assert first.startswith("config: datasets.baldr.measured.detektor = 'nai': unknown key")
    wrong = copy.deepcopy(CONFIG)
    wrong["datasets"]["baldr"]["measured"]["truth"] = "seeds"
    assert list(validator.iter_errors(wrong))


def test_measured_keys_expand_patterns_and_name_an_undeclared_entry() -> None:
    keys = plan.measured_keys(CONFIG, "opengamma", REGISTRY)
    assert len(keys) == 72 and all(k.startswith("gamma/opengamma/") for k in keys)
    assert plan.measured_keys(CONFIG, "baldr", REGISTRY) == ["gamma/baldr/measurements.h5", "gamma/baldr/Detector.dat"]
    gamma = copy.deepcopy(CONFIG)
    gamma["datasets"]["baldr"]["measured"]["spectra"] = ["gamma/baldr/*.n42"]
    with pytest.raises(ValueError, match=r"'baldr': its measured.spectra entry 'gamma/baldr/\*.n42' is not declared"):
        plan.measured_keys(gamma, "baldr", REGISTRY)
    with pytest.raises(ValueError, match="not a measured dataset"):
        plan.measured_keys(CONFIG, "demo", REGISTRY)


def test_a_measured_dataset_targets_its_benchmark_and_no_models() -> None:
    paths = plan.target_paths(CONFIG, "baldr")
    assert "results/gamma/baldr/benchmark_summary.csv" in paths and "results/gamma/baldr/identification.csv" in paths
    assert not [p for p in paths if "metrics" in p or "figures" in p]
    with_query = plan.target_paths({**CONFIG, "query_dir": "spectra"}, "baldr")
    assert set(with_query) - set(paths) == {
        f"results/gamma/baldr/user/{n}.csv" for n in ("identification", "peaks", "nuclide_limits", "activities")
    }
