"""Config errors open with the offending key and value on one line, then the details."""

from __future__ import annotations

import jsonschema
import pytest

from fingerprintml.config_errors import config_problem, describe_validation_error

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "isotopes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"seed": {"type": "integer", "minimum": 0}, "dataset": {"type": "string"}},
        }
    },
}


def message(config: dict) -> str:
    with pytest.raises(jsonschema.ValidationError) as info:
        jsonschema.Draft202012Validator(SCHEMA).validate(config)
    return describe_validation_error(info.value)


def test_a_typo_names_the_key_its_value_and_the_keys_allowed() -> None:
    lines = message({"isotopes": {"datset": "paper"}}).splitlines()
    assert lines == [
        "config: isotopes.datset = 'paper': unknown key (a typo?); isotopes takes the keys below",
        "  keys of isotopes: dataset, seed",
    ]


def test_a_number_typed_as_text_gets_the_configfile_hint_and_text_does_not() -> None:
    lines = message({"isotopes": {"seed": "3"}}).splitlines()
    assert lines[0] == "config: isotopes.seed = '3': '3' is not of type 'integer'"
    assert "--configfile" in lines[1]
    assert "--configfile" not in message({"isotopes": {"seed": "forty-two"}})
    negative = message({"isotopes": {"seed": -1}}).splitlines()[0]
    assert negative == "config: isotopes.seed = -1: -1 is less than the minimum of 0"


def test_a_long_value_is_cut_short_on_the_first_line() -> None:
    line = config_problem("xrd.datasets", {f"block{i}": i for i in range(40)}, "wrong")
    assert line.endswith("...: wrong") and len(line) < 130
