"""The layout rules a new engineer relies on (docs/architecture.md): the library's top level
stays small, modules and functions stay short, and the map names every module.

The import rules themselves are import-linter contracts in pyproject.toml (`lint-imports`,
run by `make test`)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("ringrift_ray", "actors", "experiments", "benchmarks", "tests")
MAPPED_DIRS = ("ringrift_ray", "actors", "experiments", "benchmarks")
MAX_TOP_LEVEL = 20
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules(dirs) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _is_numba_kernel(node: ast.FunctionDef) -> bool:
    return any("jit" in ast.unparse(d) for d in node.decorator_list)


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function longer than ``limit`` lines, numba kernels excepted."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _is_numba_kernel(node):
            lines = node.end_lineno - node.lineno + 1
            if lines > limit:
                out.append((node.name, lines))
    return out


def test_library_top_level_is_small():
    entries = [p.name for p in (ROOT / "ringrift_ray").iterdir()
               if p.name != "__pycache__" and not p.name.endswith(".egg-info")]
    assert len(entries) <= MAX_TOP_LEVEL, sorted(entries)


@pytest.mark.parametrize("path", _modules(CODE_DIRS), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path):
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path.name}: split it (see STYLE.md)"
    assert long_functions(source) == []


def test_long_function_check_can_fail():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"@njit(cache=True)\ndef f():\n{body}\n") == []


def unmapped_modules(doc: str) -> list[str]:
    """Packages (``dir/``) and modules (repository-relative paths) the map does not name."""
    paths = [str(p.relative_to(ROOT)) for p in _modules(MAPPED_DIRS) if p.name != "__init__.py"]
    packages = {str(p.parent.relative_to(ROOT)) + "/" for p in _modules(MAPPED_DIRS)}
    return [p for p in [*sorted(packages), *paths] if p not in doc]


def test_architecture_map_names_every_module():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    assert unmapped_modules(doc) == []


def test_architecture_map_check_can_fail():
    assert "ringrift_ray/selfplay.py" in unmapped_modules("a map that names nothing")
