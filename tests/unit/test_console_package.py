"""The console ships inside the Python package: every file under `console/static` is
matched by the package data that `pip install .` copies."""

import tomllib
from pathlib import Path, PurePosixPath

import chorus

PACKAGE = Path(chorus.__file__).parent
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def test_every_console_file_is_package_data() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]["chorus"]
    static = PACKAGE / "console" / "static"
    files = [p.relative_to(PACKAGE).as_posix() for p in static.rglob("*") if p.is_file()]
    assert "console/static/index.html" in files
    missing = [f for f in files if not any(PurePosixPath(f).match(pattern) for pattern in patterns)]
    assert missing == []
