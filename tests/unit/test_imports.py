"""The pure core must stay light: no torch, SQLAlchemy or Label Studio on import."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_cleaner_imports_no_heavy_dependency():
    code = (
        "import sys, labelmend.cleaner; "
        "heavy = {'torch', 'sqlalchemy', 'label_studio_sdk', 'matplotlib', 'dask', 'typer'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_simulator_core_imports_no_plotting_or_cluster_code():
    code = (
        "import sys, labelmend.simulator, labelmend.simulator.study; "
        "heavy = {'torch', 'sqlalchemy', 'label_studio_sdk', 'matplotlib', 'dask', "
        "'distributed', 'typer'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_sync_package_loads_its_modules_on_first_use():
    code = (
        "import sys, labelmend.sync; "
        "heavy = {'sqlalchemy', 'pandas'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules})); "
        "labelmend.sync.push_queue; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "['pandas', 'sqlalchemy']"]
