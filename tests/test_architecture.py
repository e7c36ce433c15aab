"""The shape of the code: layered stage packages, typed doors, short functions, a thin facade."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_import_contracts_hold():
    """Layers data -> core -> build -> workspace -> stack -> explain -> analysis -> ui; pages stay above."""
    out = _run([str(BIN / "lint-imports")])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_app_imports_no_stage_internals():
    """import-linter contracts packages only, so app.py (a module) is checked here: like pages/, it reaches
    the library through the facade, the UI and the records, never the core, the data or the build stage."""
    internals = ("autointerp.build", "autointerp.core", "autointerp.data")
    names = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    assert any(n.startswith("autointerp") for n in names), names  # the check sees app.py's imports at all
    assert not [n for n in names if n.startswith(internals)], names


def test_mypy_passes_with_check_untyped_defs():
    out = _run([sys.executable, "-m", "mypy", "autointerp"], timeout=600)
    assert out.returncode == 0, out.stdout[-4000:]


def _functions(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(ROOT), node.name, node.end_lineno - node.lineno + 1


def test_no_function_is_longer_than_60_lines_and_the_facade_is_thin():
    long = [f for folder in ("autointerp", "pages") for f in _functions(ROOT / folder) if f[2] > 60]
    assert not long, long
    assert len((ROOT / "autointerp" / "interp.py").read_text().splitlines()) <= 200


def test_public_names_are_unchanged():
    import autointerp

    assert set(autointerp.__all__) == {
        "AutoInterpError",
        "BuildConfig",
        "CentroidExplanation",
        "CentroidExplanationCache",
        "InputError",
        "KMeansAutoInterp",
        "SentenceAnalysis",
        "ValidationExample",
        "load_kmeans_centroids",
        "save_kmeans_centroids",
    }


def test_no_private_member_is_used_outside_its_module():
    """Pages and other modules go through public attributes only (e.g. never interp._check_id)."""
    offenders = []
    for folder in ("autointerp", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                    owner = node.value
                    if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")) and node.attr != "_module":
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert not offenders, offenders


@pytest.mark.skipif(shutil.which("duplicates") is None, reason="the duplicates tool is not installed here")
def test_pages_repeat_no_core_logic():
    out = _run(["duplicates", "--most", "200", "--seconds", "60"])
    pairs = [line for line in out.stdout.splitlines() if line.startswith("D") and "pages/" in line]
    assert not [p for p in pairs if "autointerp/" in p], pairs
