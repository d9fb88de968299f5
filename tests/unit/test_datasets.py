"""Named datasets: which ones a run builds, the block of each, dotted look-ups in a block."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fingerprintml.datasets import dataset_settings, lookup, requested_datasets, require_declared, user_files

STUDY = {
    "dataset": "demo",
    "datasets": {
        "demo": {"n": 4, "search": {"n_calls": 8}},
        "paper": {"n": 400, "search": {"n_calls": 50}, "remote": {"x_train": "isotopes/X_train.txt"}},
        "empty": None,
    },
    "seed": 1,
}


def test_one_name_or_a_list() -> None:
    assert requested_datasets(STUDY, "isotopes") == ["demo"]
    assert requested_datasets({**STUDY, "dataset": ["paper", "demo"]}, "isotopes") == ["paper", "demo"]


def test_a_name_listed_twice_is_built_once_in_the_order_given() -> None:
    assert requested_datasets({**STUDY, "dataset": ["paper", "demo", "paper"]}, "isotopes") == ["paper", "demo"]


def test_an_unknown_name_is_an_error_naming_the_study_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"isotopes\.dataset names 'dara'.*known datasets: demo, empty, paper"):
        requested_datasets({**STUDY, "dataset": ["demo", "dara"]}, "isotopes")


def test_the_block_of_a_dataset_and_an_empty_block() -> None:
    assert dataset_settings(STUDY, "isotopes", "paper")["n"] == 400
    assert dataset_settings(STUDY, "isotopes", "empty") == {}
    with pytest.raises(ValueError, match="'user'"):
        dataset_settings(STUDY, "isotopes", "user")


def test_lookup_follows_dotted_keys_and_names_the_missing_one() -> None:
    paper = dataset_settings(STUDY, "isotopes", "paper")
    assert lookup(paper, "search.n_calls") == 50
    assert lookup(paper, "remote") == {"x_train": "isotopes/X_train.txt"}
    with pytest.raises(KeyError, match=r"'search\.budget'.*'budget'"):
        lookup(paper, "search.budget")
    with pytest.raises(KeyError, match=r"'n\.calls'.*'calls'"):
        lookup(paper, "n.calls")


def test_a_key_missing_from_the_registry_names_its_owner_and_the_entry_to_add() -> None:
    assert require_declared("gamma/a.zip", {"gamma/a.zip"}, "gamma dataset 'x': its archive") == "gamma/a.zip"
    with pytest.raises(ValueError) as error:
        require_declared("gamma/a.zip", {"other"}, "gamma dataset 'x': its archive", hint="Ask. ", note="(layout)")
    message = str(error.value)
    assert message.startswith("gamma dataset 'x': its archive 'gamma/a.zip' is not declared in resources/")
    entry = yaml.safe_load(message.split(":\n", 1)[1].split("\n(")[0])
    assert entry == {
        "gamma/a.zip": {"url": "file:///absolute/path/to/the/file", "sha256": entry["gamma/a.zip"]["sha256"]}
    }
    assert "Ask. Add to" in message and message.endswith("(layout)")


def test_user_files_are_the_file_or_every_file_under_the_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ["q/valid_control.sps", "q/measurement_dates.csv", "q/GRIP_1/a.png", "q/.DS_Store", "q/.git/HEAD"]:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text("x")
    assert user_files("q", "gamma.query_dir") == ["q/GRIP_1/a.png", "q/measurement_dates.csv", "q/valid_control.sps"]
    assert user_files("q/valid_control.sps", "isotopes.predict.input") == ["q/valid_control.sps"]
    assert user_files(None, "xrd.query_dir") == []


def test_a_missing_user_path_or_an_empty_folder_names_the_key_and_the_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^config: isotopes.predict.input = 'mixd.csv': no such file"):
        user_files("mixd.csv", "isotopes.predict.input")
    Path("empty/.hidden").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"^config: xrd.query_dir = 'empty': the folder holds no files"):
        user_files("empty", "xrd.query_dir")
