"""The built wheel installs and runs anywhere: build it from a copy of the sources, install it
into a fresh virtual environment (the machine's torch and other dependencies are reused
through --system-site-packages; contrastkit itself comes from the wheel, checked), then run
`contrastkit --version`, `contrastkit recipes` and 20 training steps from a packaged recipe,
from a folder that is not the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from contrastkit.recipes import recipe_names

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("contrastkit", "pyproject.toml", "README.md", "LICENSE")

pytestmark = pytest.mark.slow


def _run(args: list[str | Path], cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HF_HUB_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{args}\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources (the checkout stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp / "dist"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*pip, "-q", "-w", dist, src], cwd=tmp)
    (built,) = dist.glob("contrastkit-*.whl")
    return built


@pytest.fixture(scope="module")
def env_bin(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv with the wheel installed (dependencies from the system)."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home / "env", system_site_packages=True, with_pip=False)
    bin_dir = home / "env" / "bin"
    # the outer pip installs into the venv: --ignore-installed leaves the system's contrastkit
    install = [sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "-q"]
    _run([*install, "--no-deps", "--no-index", "--ignore-installed", wheel], cwd=home)
    return bin_dir


def test_wheel_holds_recipes_license_and_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"contrastkit/recipes/{n}.yaml" for n in recipe_names()} <= names
    assert "contrastkit/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(names)[-8:]
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]  # fmt: skip
    core = {line.split()[1].split(">")[0].split("=")[0].lower() for line in requires}
    assert not core & {"pandas", "matplotlib", "transformers", "faiss-cpu"}, core
    assert "torch" in core


def test_installed_wheel_runs(env_bin: Path, tmp_path: Path) -> None:
    where = _run(
        [env_bin / "python", "-c", "import contrastkit; print(contrastkit.__file__)"], tmp_path
    )
    assert Path(where.strip()).is_relative_to(env_bin.parent), where  # not the checkout
    assert _run([env_bin / "contrastkit", "--version"], tmp_path).strip() == "contrastkit 0.1.0"
    listed = _run([env_bin / "contrastkit", "recipes"], tmp_path).splitlines()
    assert [line.split()[0] for line in listed] == recipe_names()


def test_twenty_steps_from_a_packaged_recipe(env_bin: Path, tmp_path: Path) -> None:
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST is not installed (scripts/setup.sh installs it)")
    run = tmp_path / "run"
    args = ["train", "--config", "simclr_fashion_mnist", "--steps", "20", "--batch-size", "32"]
    args += ["--device", "cpu", "--threads", "2", "--no-evaluate", "--no-progress", "-o", run]
    out = _run([env_bin / "contrastkit", *args], tmp_path, timeout=600)
    assert "trained 20 steps" in out, out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 20
    assert (run / "config.yaml").is_file()
