"""The app: ``labkit.Lab()``, one cell that picks a model and an Ethos-U configuration,
compiles it and shows the report in tabs.

- ``lab.py``             the Lab: the controls, the compile, the Summary/Placement/Cycles/Memory/
                         Artifacts tabs, and what each other tab is given
- ``common.py``          what the tabs share: figures and HTML in Output widgets, status and error
                         lines, one background job at a time, ReportPanel, ModelChoice
- ``compare.py``         the Compare tab (``labkit.sweep`` of the chosen model)
- ``numerics_panel.py``  the Numerics tab (numerics of the report on show)
- ``advice_panel.py``    the Advice tab (``labkit.advise`` of the report on show)
- ``graph.py``           the Graph tab and ``labkit.explore``: Model Explorer on a local server
- ``fvp_panel.py``       the FVP tab (run the report on a Corstone FVP, where one is installed)
- ``labextension/``      the built JupyterLab extension ``labkit lab`` installs (Run All on open)

The tabs are given values and callables (the report on show, the chosen model, a theme,
a callback that compiles a change), never the Lab.
"""

from .lab import TABS, Lab

__all__ = ["Lab", "TABS"]
