"""The fast tier's committed fixtures still equal what the toolchain produces now
(regenerate them with: python -m tests.fast.fixtures.make)."""

import pandas as pd
import pytest

from tests.fast.conftest import report_fixture, sweep_fixture
from tests.fast.fixtures import make

# What a compile records about itself (timings, keys, where it ran) rather than about the model.
_VOLATILE = ("seconds", "cache_key", "lowered_with", "from_cache")


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Source lines as folder/file:line (the checkout and site-packages paths differ by machine)."""
    df = df.reset_index(drop=True)
    return df.assign(source=df["source"].map(lambda s: "/".join(str(s).split("/")[-2:]))) if "source" in df else df


@pytest.mark.parametrize("name", list(make.REPORTS))
def test_report_fixture_equals_a_fresh_compile(name, compiled):
    fixture, fresh = report_fixture(name), compiled(*make.REPORTS[name])
    keep = [k for k in fresh.summary.index if not any(v in k for v in _VOLATILE)]
    pd.testing.assert_series_equal(fixture.summary[keep], fresh.summary[keep], check_dtype=False)
    pd.testing.assert_frame_equal(_comparable(fixture.operators), _comparable(fresh.operators))
    # Vela's layer Name is a tensor name; those Vela makes up ('#315') differ from run to run.
    pd.testing.assert_frame_equal(fixture.layers.drop(columns="Name"), fresh.layers.drop(columns="Name"))
    assert fixture.target == fresh.target and fixture.warnings == fresh.warnings


def test_sweep_fixtures_equal_fresh_sweeps():
    for name, fresh in make.sweeps().items():
        columns = [c for c in fresh.columns if c not in _VOLATILE]
        pd.testing.assert_frame_equal(sweep_fixture(name)[columns], fresh[columns], check_dtype=False)
