"""Each rule's conda env file is valid, pinned, and covers every import of the rule's script.

Imports are followed into the fingerprintml modules the script uses, so an env stays honest when a
package module starts importing something new.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "workflow" / "rules"
PACKAGE_DIR = REPO / "src"

# Import name -> conda-forge package name.
CONDA_NAME = {
    "numpy": "numpy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "threadpoolctl": "threadpoolctl",
    "xgboost": "xgboost",
    "hiclass": "hiclass",
    "skopt": "scikit-optimize",
    "joblib": "joblib",
    "matplotlib": "matplotlib-base",
    "yaml": "pyyaml",
    "tqdm": "tqdm",
    "scipy": "scipy",
    "torch": "pytorch",
    "shap": "shap",
    "diffpy": "diffpy.srfit",
    "pymatgen": "pymatgen",
    "pybaselines": "pybaselines",
    "spglib": "spglib",
    "becquerel": "becquerel",
    "tables": "pytables",
    "skimage": "scikit-image",
    "umap": "umap-learn",
    "PIL": "pillow",
    "pyarrow": "pyarrow",
    "numba": "numba",
    "xraydb": "xraydb",
    "periodictable": "periodictable",
    "crepes": "crepes",
    "plotly": "plotly",
}
UNPINNED_OK = {"git"}


def rule_blocks() -> dict[str, dict[str, str]]:
    """``{rule: {'conda': path, 'script': path}}`` from the snakefmt-formatted rule files."""
    rules = {}
    for smk in sorted(RULES_DIR.glob("*.smk")):
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", smk.read_text(), re.MULTILINE):
            name, body = match.groups()
            entry = {}
            for directive in ("conda", "script"):
                found = re.search(rf"^    {directive}:\n\s+\"([^\"]+)\"", body, re.MULTILINE)
                if found:
                    entry[directive] = str((RULES_DIR / found.group(1)).resolve())
            rules[name] = entry
    return rules


def module_file(module: str) -> Path | None:
    base = PACKAGE_DIR / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level third-party modules imported by ``path`` and, recursively, by the fingerprintml modules it imports."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            top = name.split(".")[0]
            if top == "fingerprintml":
                target = module_file(name)
                if target is not None:
                    found |= third_party_imports(target, seen)
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def env_packages(env_file: Path) -> dict[str, str | None]:
    env = yaml.safe_load(env_file.read_text())
    assert env.get("channels", [None])[0] == "conda-forge", f"{env_file}: conda-forge must be the first channel"
    packages = {}
    for dep in env["dependencies"]:
        assert isinstance(dep, str), f"{env_file}: only conda packages expected, found {dep!r}"
        name, _, version = dep.partition("=")
        packages[name] = version or None
    return packages


RULES = rule_blocks()
SCRIPTED = sorted(name for name, entry in RULES.items() if "script" in entry)


def test_rules_are_found() -> None:
    assert "isotopes_search" in SCRIPTED and "download" in SCRIPTED


@pytest.mark.parametrize("rule", SCRIPTED)
def test_script_imports_are_in_the_rule_env(rule: str) -> None:
    entry = RULES[rule]
    assert "conda" in entry, f"rule {rule} runs a script but declares no conda env"
    packages = env_packages(Path(entry["conda"]))
    assert "python" in packages
    for name, version in packages.items():
        assert version or name in UNPINNED_OK, f"{entry['conda']}: {name} is not pinned"
    imports = third_party_imports(Path(entry["script"]))
    unknown = sorted(imports - set(CONDA_NAME))
    assert not unknown, f"rule {rule}: add the conda package of {unknown} to CONDA_NAME in this test"
    missing = sorted(CONDA_NAME[m] for m in imports if CONDA_NAME[m] not in packages)
    assert not missing, f"rule {rule}: {entry['conda']} lacks {missing} imported by {entry['script']}"
