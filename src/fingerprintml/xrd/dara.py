"""The ``dara`` dataset: measured patterns of weighed precursor mixtures (CederGroupHub/dara, MIT) whose file names
give the phases and weight fractions, e.g. ``NiO_0p2030-Li2CO3_0p2999-TiO2_0p5025--8min.xrdml``: 20.30 wt% NiO,
29.99 wt% Li2CO3 and 50.25 wt% TiO2, scanned for 8 minutes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pymatgen.core import Composition

from fingerprintml.download import RemoteFile, resolve_url

NAME = re.compile(r"^(?P<phases>.+)--(?P<scan>[^-.]+)\.xrdml$")
PART = re.compile(r"^(?P<formula>[A-Za-z0-9()]+)_(?P<whole>\d+)p(?P<decimals>\d+)$")


@dataclass(frozen=True)
class MixtureTruth:
    """The weighed phases of one measured pattern (fractions normalised to sum to 1) and its scan length."""

    fractions: dict[str, float]
    scan: str


def mixture_truth(path: str | Path) -> MixtureTruth:
    """Phases, weight fractions and scan length from a dara file name; :class:`ValueError` names the file when
    the name does not follow ``formula_0pFFFF-formula_0pFFFF[-...]--<scan>.xrdml``."""
    name = Path(path).name
    match = NAME.match(name)
    if not match:
        raise ValueError(f"{name}: not a dara mixture name (formula_0pFFFF-...--<scan>.xrdml)")
    weighed = {}
    for part in match["phases"].split("-"):
        piece = PART.match(part)
        if not piece:
            raise ValueError(f"{name}: {part!r} is not formula_<fraction with p for the point>")
        if piece["formula"] in weighed:
            raise ValueError(f"{name}: {piece['formula']} named twice")
        weighed[piece["formula"]] = float(f"{piece['whole']}.{piece['decimals']}")
    total = sum(weighed.values())
    if total <= 0:
        raise ValueError(f"{name}: weight fractions sum to zero")
    return MixtureTruth({formula: value / total for formula, value in weighed.items()}, match["scan"])


# Registry keys (resources/remote_files.yaml) of the measured patterns and of the reference CIFs.
PATTERN_PREFIX = "xrd/dara/patterns/"
CIF_PREFIX = "xrd/dara/cifs/"


def declared_files(registry: dict[str, RemoteFile], prefix: str, mirror: str | None) -> list[str]:
    """Where the files declared under ``prefix`` (:data:`PATTERN_PREFIX`, :data:`CIF_PREFIX`) are read from,
    given ``download.mirror``: paths or URLs, in declaration order."""
    return [resolve_url(entry.url, mirror) for key, entry in registry.items() if key.startswith(prefix)]


# The polymorph each weighed precursor is, where its formula has others in a library (with the demo decoys:
# zincblende ZnO, fluorite and rutile ZrO2, corundum In2O3, rutile and C2/m TiO2): anatase TiO2, zincite ZnO,
# baddeleyite ZrO2, bixbyite In2O3, bunsenite NiO.
PRECURSOR_SPACEGROUPS = {"TiO2": "I4_1/amd", "ZnO": "P6_3mc", "ZrO2": "P2_1/c", "In2O3": "Ia-3", "NiO": "Fm-3m"}


def is_weighed_phase(formula: str, spacegroup: str, truth: MixtureTruth) -> str | None:
    """The weighed phase a reported phase (reduced formula, space group symbol) is, or None."""
    for weighed in truth.fractions:
        if Composition(weighed).reduced_formula != formula:
            continue
        if PRECURSOR_SPACEGROUPS.get(weighed, spacegroup) == spacegroup:
            return weighed
    return None
