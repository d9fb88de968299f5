"""The package declares what it imports: every third-party import of src/fingerprintml is a dependency of
pyproject.toml (the base for the shared modules, the study's extra for a study's modules) on every platform, and
requirements.txt pins every declared distribution (the Makefile installs the package with --no-deps)."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "fingerprintml"
PYPROJECT = REPO / "pyproject.toml"
REQUIREMENTS = REPO / "requirements.txt"
NAME = "fingerprintml"

# Import name -> the distributions that provide it (any one will do). diffpy is a namespace: its subpackages are
# distributions of their own.
DISTRIBUTIONS = {
    "numpy": {"numpy"},
    "pandas": {"pandas"},
    "matplotlib": {"matplotlib"},
    "yaml": {"pyyaml"},
    "tqdm": {"tqdm"},
    "scipy": {"scipy"},
    "sklearn": {"scikit-learn"},
    "threadpoolctl": {"threadpoolctl"},
    "hiclass": {"hiclass"},
    "skopt": {"scikit-optimize"},
    "joblib": {"joblib"},
    "numba": {"numba"},
    "crepes": {"crepes"},
    "xgboost": {"xgboost", "xgboost-cpu"},
    "torch": {"torch"},
    "becquerel": {"becquerel"},
    "skimage": {"scikit-image"},
    "PIL": {"pillow"},
    "pyarrow": {"pyarrow"},
    "umap": {"umap-learn"},
    "shap": {"shap"},
    "pymatgen": {"pymatgen"},
    "tables": {"tables"},
    "pybaselines": {"pybaselines"},
    "spglib": {"spglib"},
    "diffpy.srfit": {"diffpy.srfit"},
    "diffpy.structure": {"diffpy.structure"},
    "diffpy.srreal": {"diffpy.srreal"},
    "xraydb": {"xraydb"},
    "periodictable": {"periodictable"},
    "plotly": {"plotly"},
    "actigamma": {"actigamma"},
    "radioactivedecay": {"radioactivedecay"},
}
# Shared modules whose imports only some studies need: the extra that carries them.
SHARED_EXTRA = {"torch_runtime": "torch"}
# Where a requirement's environment markers are evaluated: an import must be declared on each.
PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux"},
    "darwin": {"sys_platform": "darwin", "platform_system": "Darwin"},
    "win32": {"sys_platform": "win32", "platform_system": "Windows"},
}


def import_name(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "diffpy" else parts[0]


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` sits in a ``try`` whose handler catches ImportError (an import the module can do without)."""
    while node in parents:
        child, node = node, parents[node]
        if isinstance(node, ast.Try) and child in node.body:
            for handler in node.handlers:
                caught = handler.type
                names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
    return False


def third_party_imports(path: Path) -> set[str]:
    """The third-party modules ``path`` imports (anywhere in it, functions included), optional imports left out."""
    tree = ast.parse(path.read_text())
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in (NAME, "__future__") or top in sys.stdlib_module_names or _optional(node, parents):
                continue
            found.add(import_name(module))
    return found


def module_extra(path: Path) -> str | None:
    """The extra that must declare the imports of ``path``: its study's, or None for the base."""
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) > 1:
        return relative.parts[0]
    return SHARED_EXTRA.get(path.stem)


def load_pyproject(path: Path = PYPROJECT) -> dict:
    return tomllib.loads(path.read_text())["project"]


def declared(project: dict, extra: str | None, platform: dict[str, str]) -> set[str]:
    """Canonical names of the distributions installed with ``extra`` (None: the base) on ``platform``."""
    requirements = [Requirement(text) for text in project.get("dependencies", [])]
    pending = [extra] if extra else []
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in project.get("optional-dependencies", {}).get(name, []):
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == NAME:
                pending.extend(requirement.extras)
            else:
                requirements.append(requirement)
    return {
        canonicalize_name(r.name)
        for r in requirements
        if r.marker is None or r.marker.evaluate({**platform, "extra": extra or ""})
    }


MODULES = sorted(PACKAGE.rglob("*.py"))
STUDIES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def undeclared(project: dict, path: Path) -> list[str]:
    """The imports of ``path`` that its extra (or the base) lacks on some platform, as 'import (platform)'."""
    imports = third_party_imports(path)
    unknown = sorted(imports - set(DISTRIBUTIONS))
    assert not unknown, f"{path}: add the distributions of {unknown} to DISTRIBUTIONS in this test"
    missing = []
    for platform, markers in PLATFORMS.items():
        have = declared(project, module_extra(path), markers)
        missing += [
            f"{name} ({platform})"
            for name in sorted(imports)
            if not {canonicalize_name(d) for d in DISTRIBUTIONS[name]} & have
        ]
    return missing


def test_modules_are_found() -> None:
    assert PACKAGE / "io.py" in MODULES and "xrd" in STUDIES
    assert third_party_imports(PACKAGE / "xrd" / "library.py") >= {"numpy", "pymatgen"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_are_declared(path: Path) -> None:
    missing = undeclared(load_pyproject(), path)
    extra = module_extra(path)
    where = f"the optional dependencies {extra!r}" if extra else "the base dependencies"
    assert not missing, f"{path.relative_to(REPO)} imports {missing}, not in {where} of pyproject.toml"


def test_every_study_has_an_extra_and_all_has_every_study() -> None:
    project = load_pyproject()
    extras = project["optional-dependencies"]
    assert set(STUDIES) <= set(extras)
    linux = PLATFORMS["linux"]
    everything = declared(project, "all", linux)
    for study in STUDIES:
        assert declared(project, study, linux) <= everything, f"[all] lacks part of [{study}]"


def test_a_study_import_outside_its_extra_is_caught(tmp_path: Path) -> None:
    """The check itself: the base does not cover torch, xgboost is covered on every platform by isotopes."""
    project = load_pyproject()
    module = PACKAGE / "xrd" / "model.py"
    assert "torch" in third_party_imports(module)
    assert undeclared({**project, "optional-dependencies": {}}, module) == [
        "torch (linux)",
        "torch (darwin)",
        "torch (win32)",
    ]
    assert undeclared(project, PACKAGE / "isotopes" / "models.py") == []


def test_optional_imports_are_left_out(tmp_path: Path) -> None:
    module = tmp_path / "optional.py"
    module.write_text(
        "import numpy\ntry:\n    import diffpy.srreal\nexcept ImportError:\n    pass\n"
        "def f():\n    from scipy import signal\n"
    )
    assert third_party_imports(module) == {"numpy", "scipy"}


def pinned() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"requirements.txt: {line} is not pinned"
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_requirements_pin_every_declared_distribution() -> None:
    """make installs requirements.txt, then the package without its dependencies: the pins must cover them all and
    meet their lower bounds."""
    project = load_pyproject()
    pins = pinned()
    texts = project["dependencies"] + [t for extra in project["optional-dependencies"].values() for t in extra]
    for text in texts:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == NAME or not (requirement.marker is None or requirement.marker.evaluate(PLATFORMS["linux"])):
            continue
        assert name in pins, f"requirements.txt does not pin {requirement.name}, declared in pyproject.toml"
        assert requirement.specifier.contains(pins[name]), f"requirements.txt pins {name}=={pins[name]}: not {text}"
