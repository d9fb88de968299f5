"""COD fetching (loopback HTTP server), CIF parsing failures, measured-pattern reading, baselines, mixtures."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice

from fingerprintml.shards import shard_names, shard_slice
from fingerprintml.xrd.cod import fetch_cifs, read_cif_list, source_id
from fingerprintml.xrd.library import from_spacegroup, write_cif
from fingerprintml.xrd.patterns import (
    Grid,
    PatternReadError,
    Preprocessing,
    preprocess,
    read_measured_pattern,
    resample,
)
from fingerprintml.xrd.store import convert_cifs
from fingerprintml.xrd.structures import CifError, read_cif

CU1 = 1.54056
REPO = Path(__file__).resolve().parents[2]


def rocksalt(cation: str, anion: str, a: float):
    return from_spacegroup("Fm-3m", Lattice.cubic(a), [cation, anion], [[0, 0, 0], [0.5, 0.5, 0.5]])


@pytest.fixture
def cod_server(tmp_path: Path):
    """A loopback HTTP server laid out like the COD: two good CIFs, a broken and an empty one; 1000099 is missing."""
    root = tmp_path / "server"
    (root / "cod").mkdir(parents=True)
    write_cif(rocksalt("Na", "Cl", 5.64), root / "cod" / "1000001.cif")
    write_cif(rocksalt("Mg", "O", 4.21), root / "cod" / "1000002.cif")
    (root / "cod" / "1000003.cif").write_text("data_broken\n_cell_length_a 5.0\nloop_\n_atom_site_label\n")
    (root / "cod" / "1000004.cif").write_text("")
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def test_cif_list_is_read_deduplicated_and_sharded(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    urls = [f"http://www.crystallography.net/cod/{1000000 + i}.cif" for i in range(7)]
    listing.write_text("\n".join([*urls, urls[0], ""]) + "\n")
    assert read_cif_list(listing) == urls
    assert shard_names(8172, 200)[-1] == "00040" and len(shard_names(8172, 200)) == 41
    assert [urls[shard_slice(s, 7, 3)] for s in shard_names(7, 3)] == [urls[:3], urls[3:6], urls[6:]]
    assert source_id(urls[0]) == "cod-1000000"
    listing.write_text("http://example.org/not-a-cif.txt\n")
    with pytest.raises(ValueError, match="not a CIF URL"):
        read_cif_list(listing)


def test_fetch_goes_on_past_missing_and_empty_cifs_and_resumes(cod_server, tmp_path: Path) -> None:
    mirror, requests = cod_server
    urls = [f"http://www.crystallography.net/cod/{n}.cif" for n in (1000001, 1000002, 1000003, 1000004, 1000099)]
    dest = tmp_path / "cifs"
    table = fetch_cifs(urls, dest, mirror=mirror, retries=2, timeout=5, delay=0.0, backoff=0.01).set_index("source_id")
    assert table.loc[["cod-1000001", "cod-1000002", "cod-1000003"], "status"].eq("fetched").all()
    assert table.loc["cod-1000004", "reason"] == "empty file"
    assert table.loc["cod-1000099", "status"] == "rejected" and "missing" in table.loc["cod-1000099", "reason"]
    assert sum("1000099" in r for r in requests) == 2  # retried
    assert not (dest / "cod-1000004.cif").exists()
    requests.clear()
    again = fetch_cifs(urls, dest, mirror=mirror, retries=1, timeout=5, delay=0.0, backoff=0.01).set_index("source_id")
    assert again.loc["cod-1000001", "status"] == "present"
    assert not any("1000001" in r or "1000002" in r for r in requests)  # resumed: kept CIFs are not fetched again
    phases, caches, rejects = convert_cifs(sorted(str(p) for p in dest.glob("*.cif")), CU1, 90)
    assert sorted(phases["formula"]) == ["MgO", "NaCl"]
    assert set(phases["spacegroup"]) == {"Fm-3m"} and phases["phase_id"].str.contains("cod-1000001").any()
    assert len(caches) == 2
    assert rejects["source_id"].tolist() == ["cod-1000003"] and "unparsable" in rejects["reason"].iloc[0]


def test_cif_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CifError, match=r"gone\.cif: missing"):
        read_cif(tmp_path / "gone.cif")
    (tmp_path / "empty.cif").write_text("")
    with pytest.raises(CifError, match=r"empty\.cif: empty file"):
        read_cif(tmp_path / "empty.cif")
    (tmp_path / "junk.cif").write_bytes(b"\x00\x01 not a cif at all")
    with pytest.raises(CifError, match=r"junk\.cif: unparsable"):
        read_cif(tmp_path / "junk.cif")


def test_demo_cif_round_trip_keeps_the_structure(tmp_path: Path) -> None:
    structure = rocksalt("K", "Br", 6.6)
    write_cif(structure, tmp_path / "KBr.cif")
    back = read_cif(tmp_path / "KBr.cif")
    assert back.composition.reduced_formula == "KBr"
    assert back.volume == pytest.approx(structure.volume / 4, rel=1e-4)  # primitive cell of the fcc lattice


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("scan.xy", "# header\n" + "\n".join(f"{10 + 0.05 * i:.2f} {i % 7}" for i in range(50))),
        ("scan.xye", "\n".join(f"{10 + 0.05 * i:.2f} {i % 7} 1.0" for i in range(50))),
        ("scan.csv", "two_theta,counts,extra\n" + "\n".join(f"{10 + 0.05 * i:.2f},{i % 7},x" for i in range(50))),
    ],
)
def test_measured_patterns_are_read_from_the_first_two_columns(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    two_theta, intensity = read_measured_pattern(tmp_path / name)
    assert len(two_theta) == 50 and two_theta[0] == pytest.approx(10.0) and intensity[8] == 1.0


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("bad.xy", "10 1\n10.1 abc\n" + "10.2 3\n" * 20, "non-numeric"),
        ("short.xy", "10 1\n11 2\n", "only 2 data points"),
        ("one.csv", "\n".join(str(i) for i in range(20)), "needs two columns"),
        ("empty.xye", "", "no readable data"),
        ("scan.txt", "10 1\n", "unsupported suffix"),
    ],
)
def test_unreadable_patterns_are_reported_by_name(tmp_path: Path, name: str, text: str, reason: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(PatternReadError, match=f"{name}: .*{reason}"):
        read_measured_pattern(tmp_path / name)


@pytest.mark.parametrize("measured_range", [(5, 95), (20, 70)])
def test_preprocessing_removes_the_background_within_the_measured_range(measured_range: tuple[float, float]) -> None:
    grid = Grid(10, 90, 0.1)
    measured = np.arange(*measured_range, 0.013)
    peaks = 100 * np.exp(-0.5 * ((measured - 40) / 0.1) ** 2) + 60 * np.exp(-0.5 * ((measured - 61) / 0.1) ** 2)
    background = 20 + 15 * np.exp(-0.5 * ((measured - 25) / 8) ** 2) - 0.1 * measured
    settings = Preprocessing(baseline=True, smoothness=1e3, crop_fraction=0.0, crop_max=0.0)
    corrected = preprocess(measured, peaks + background, grid, settings)
    truth = resample(grid, measured, peaks) / 100
    away = truth < 1e-4
    assert np.abs(corrected[away]).max() < 0.02  # background removed to < 2 % of the strongest peak
    assert corrected[np.argmin(np.abs(grid.two_theta - 61))] == pytest.approx(0.6, rel=0.05)
    outside = (grid.two_theta < measured[0]) | (grid.two_theta > measured[-1])
    assert (corrected[outside] == 0).all()
