"""The fast tier: no compile. Real Reports and sweeps, compiled once and committed
small (fixtures/make.py writes them; tests/test_fixtures.py checks they still
equal a fresh compile), so figures, tables, the HTML report, the app, targets and
the FVP command line and parser are tested in seconds: python -m pytest tests/fast"""

from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def report_fixture(name: str):
    from labkit import Report

    return Report.load(FIXTURES / "reports" / name)


def sweep_fixture(name: str) -> pd.DataFrame:
    return pd.read_json(FIXTURES / "sweeps" / f"{name}.json", orient="table")


@pytest.fixture(scope="session")
def ds_cnn_u55():
    """ds_cnn on ethos-u55-128: 2 NPU partitions, the average pool on the CPU."""
    return report_fixture("ds_cnn-ethos-u55-128")


@pytest.fixture(scope="session")
def ds_cnn_u85():
    """ds_cnn on ethos-u85-256: every operator on the NPU."""
    return report_fixture("ds_cnn-ethos-u85-256")


@pytest.fixture(scope="session")
def mv2():
    """MobileNetV2 on Corstone-320: the model and system of the published tutorial log."""
    return report_fixture("mobilenet_v2-corstone-320")


@pytest.fixture(scope="session")
def every():
    """ds_cnn swept over every accelerator with its family defaults."""
    return sweep_fixture("ds_cnn-every")


@pytest.fixture(scope="session")
def grid():
    """ds_cnn swept over a grid of system configs and memory modes, one NPU per family."""
    return sweep_fixture("ds_cnn-grid")
