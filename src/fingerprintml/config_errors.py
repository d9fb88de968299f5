"""Config errors a user can act on: the offending key and value first, on one line, then the details.

Standard library only: the Snakefile formats its validation errors with it before planning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# JSON-schema types a value typed on the command line may have been meant as.
SCALAR_TYPES = {"integer", "number", "boolean", "null"}
# How much of a long value (a whole settings block) the first line shows.
VALUE_WIDTH = 80


def config_problem(key: str, value: Any, problem: str) -> str:
    """A config error's first line: the offending key and value, then the problem (``config: a.b = 3: ...``).

    Parameters
    ----------
    key
        The dotted config key (``gamma.preprocess.cap_kev``).
    value
        Its value; a long one is cut short.
    problem
        What is wrong with it, and what to do.
    """
    shown = repr(value)
    if len(shown) > VALUE_WIDTH:
        shown = shown[: VALUE_WIDTH - 3] + "..."
    return f"config: {key} = {shown}: {problem}"


def _typed_as_text(value: Any, expected: Any) -> bool:
    """Whether ``value`` is text that reads as a scalar of a ``expected`` JSON type (what ``--config`` makes of a
    number or a boolean inside a mapping)."""
    types = {expected} if isinstance(expected, str) else set(expected)
    if not isinstance(value, str) or not types & SCALAR_TYPES:
        return False
    if value.strip().lower() in ("true", "false", "null", "none"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def describe_validation_error(error: Any) -> str:
    """The message of a config that fails its JSON schema (a ``jsonschema.ValidationError``): one line with the key,
    its value and the problem, then the details (allowed keys, the schema of the key, a hint for ``--config``).

    Parameters
    ----------
    error
        The validation error (its ``absolute_path``, ``instance``, ``validator``, ``validator_value``, ``schema``,
        ``message``).
    """
    path = [str(part) for part in error.absolute_path]
    key = ".".join(path) or "(top level)"
    details = []
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [name for name in error.instance if name not in allowed]
        first = unknown[0] if unknown else ""
        line = config_problem(
            ".".join([*path, first]), error.instance.get(first), f"unknown key (a typo?); {key} takes the keys below"
        )
        details.append(f"keys of {key}: {', '.join(allowed)}")
    else:
        line = config_problem(key, error.instance, error.message)
        if error.validator == "type" and _typed_as_text(error.instance, error.validator_value):
            details.append(
                "hint: --config reads a value inside a mapping as text; give numbers and booleans in a YAML file "
                "passed with --configfile (unquoted, e.g. `seed: 3`), merged over config.yaml"
            )
        subschema = {k: v for k, v in error.schema.items() if k != "description"}
        if len(repr(subschema)) <= 300:
            details.append(f"schema of {key}: {subschema}")
        if "description" in error.schema:
            details.append(f"{key}: {error.schema['description']}")
    return "\n".join([line, *(f"  {detail}" for detail in details)])
