"""The dara dataset: the truth of every declared measured pattern from its name, and the benchmark table the
workflow's benchmark step and tests/benchmarks/xrd_dara.py print."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition

from fingerprintml.download import load_registry
from fingerprintml.xrd.benchmark import NOTHING_EXPLAINED, measured_benchmark
from fingerprintml.xrd.dara import CIF_PREFIX, PATTERN_PREFIX, declared_files, mixture_truth
from fingerprintml.xrd.xrdml import read_xrdml


def test_the_truth_of_all_40_declared_patterns_comes_from_their_names(repo_root: Path, mirror: Path) -> None:
    registry = load_registry(repo_root / "resources" / "remote_files.yaml")
    patterns = declared_files(registry, PATTERN_PREFIX, str(mirror))
    references = {
        Composition(Path(key).stem.split("-")[0]).reduced_formula for key in registry if key.startswith(CIF_PREFIX)
    }
    assert len(patterns) == 40 and len(references) == 6  # anatase and rutile are both TiO2
    truths = {Path(p).name: mixture_truth(p) for p in patterns}
    for name, truth in truths.items():
        assert sum(truth.fractions.values()) == pytest.approx(1.0) and 2 <= len(truth.fractions) <= 3, name
        assert read_xrdml(next(p for p in patterns if Path(p).name == name)).counts.size > 1000, name
    assert Counter(t.scan for t in truths.values()) == {"2min": 20, "8min": 20}
    referenced = [n for n, t in truths.items() if {Composition(f).reduced_formula for f in t.fractions} <= references]
    assert len(referenced) == 16  # the 8 fully referenced mixtures, each scanned twice
    assert {f for t in truths.values() for f in t.fractions} == {
        "In2O3", "La(OH)3", "TiO2", "MnCO3", "Li2CO3", "ZrO2", "NiO", "Bi2O3", "ZnO", "V2O5",
    }  # fmt: skip


def test_benchmark_counts_found_false_weight_errors_unexplained_and_network_candidates() -> None:
    phases = pd.DataFrame(
        {
            "formula": ["TiO2", "ZnO", "TiO2", "ZnO"],
            "spacegroup": ["I4_1/amd", "P6_3mc", "P4_2/mnm", "F-43m"],
            "source_id": ["TiO2-Anatase", "ZnO-Zincite", "TiO2-Rutile", "demo-zincblende-ZnO"],
        }
    )
    references = ["TiO2-Anatase", "ZnO-Zincite", "TiO2-Rutile"]
    rows = [
        # both phases, weight fractions off by 5 and 5 wt%, confident and right
        ("TiO2_0p4000-ZnO_0p6000--8min.xrdml", "TiO2", "I4_1/amd", 0.45, 0.9, ""),
        ("TiO2_0p4000-ZnO_0p6000--8min.xrdml", "ZnO", "P6_3mc", 0.55, 0.9, ""),
        # the decoy polymorph of ZnO reported: a false phase, ZnO not found
        ("TiO2_0p4000-ZnO_0p6000--2min.xrdml", "TiO2", "I4_1/amd", 0.40, 0.8, ""),
        ("TiO2_0p4000-ZnO_0p6000--2min.xrdml", "ZnO", "F-43m", 0.60, 0.6, ""),
        # open library: TiO2 found, In2O3 left as unexplained peaks
        ("In2O3_0p5000-TiO2_0p5000--8min.xrdml", "TiO2", "I4_1/amd", 1.0, 0.7, "30.58:100.0"),
    ]
    identify = pd.DataFrame(
        rows, columns=["query", "formula", "spacegroup", "weight_fraction", "confidence", "unexplained_peaks"]
    ).assign(rank=1)
    alternative = identify.iloc[[0]].assign(rank=2, formula="ZnO", spacegroup="F-43m")
    rejects = pd.DataFrame(
        {"query": ["In2O3_0p5000-MnCO3_0p5000--8min.xrdml"], "reason": [f"x.xrdml: {NOTHING_EXPLAINED} (...)"]}
    )
    ranks = {
        "TiO2_0p4000-ZnO_0p6000--8min.xrdml": np.array([1, 2, 3, 4]),
        "TiO2_0p4000-ZnO_0p6000--2min.xrdml": np.array([1, 4, 2, 3]),
        "In2O3_0p5000-TiO2_0p5000--8min.xrdml": np.array([4, 1, 2, 3]),
        "In2O3_0p5000-MnCO3_0p5000--8min.xrdml": np.array([1, 2, 3, 4]),
    }
    table, bins = measured_benchmark(
        pd.concat([identify, alternative]), rejects, phases, references, ranks=ranks, top_k=3
    )
    table = table.set_index(["set", "scan"])
    assert table.loc[("referenced", "8min"), ["phases_found", "phases_weighed", "clean_patterns"]].tolist() == [2, 2, 1]
    assert table.loc[("referenced", "8min"), "wf_mae_wt"] == pytest.approx(5.0)
    assert table.loc[("referenced", "2min"), ["phases_found", "clean_patterns", "network_found"]].tolist() == [1, 0, 1]
    assert table.loc[("referenced", "2min"), "wf_mae_wt"] == pytest.approx(30.0)  # ZnO counted as 0 of 60 wt%
    open_8 = table.loc[("open", "8min")]
    assert open_8[["patterns", "phases_found", "phases_weighed", "unexplained_patterns"]].tolist() == [2, 1, 1, 2]
    assert open_8["network_found"] == 0  # TiO2 ranked 4th, beyond the top 3
    assert table.loc[("referenced", "8min"), "network_median_rank"] == 1.5 and open_8["network_median_rank"] == 4
    assert table.loc[("referenced", "2min"), "correct_share"] == 0.5
    assert bins["count"].sum() == 5 and bins["ece"].iloc[0] == pytest.approx((0.1 + 0.1 + 0.2 + 0.6 + 0.3) / 5)
