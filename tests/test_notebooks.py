"""Every lesson runs top to bottom in a fresh kernel, headless, with no error output,
and shows a plotly figure and the widget app where it should."""

import pytest

from labkit import lessons

SOURCES = lessons.sources()


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_lesson_runs_clean(source, cache_dir, tmp_path):
    run = lessons.run(source, tmp_path, timeout=900)
    assert run.ok, run.error
    nb = run.notebook
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr" and "Traceback" in o.get("text", "")]
    mimes = {m for o in outputs for m in o.get("data", {})}
    assert "application/vnd.plotly.v1+json" in mimes or "text/html" in mimes
    assert "application/vnd.jupyter.widget-view+json" in mimes
