"""What a user sees of Reports and sweeps, over one theme. Views compute from Reports and
sweep tables only: they never compile, parse compiler output, or read the cache.

- ``theme.py``           the plotly template (and its presentation variant), colours, source labels
- ``plots.py``           figures of a Report
- ``sweep_plots.py``     figures of a sweep (their frames: ``labkit.sweep_tables``)
- ``fvp_plots.py``       an FVP run beside the estimate
- ``cpu_plots.py``       the Cortex-M cost model against its silicon measurements
- ``styled.py``          the tables a user sees, as pandas Stylers
- ``tables.py``          those tables as HTML for the app
- ``html.py``            the standalone HTML report (``labkit.to_html``)
- ``model_explorer.py``  the graph and overlays as Model Explorer JSON (``labkit.to_model_explorer``)
"""
