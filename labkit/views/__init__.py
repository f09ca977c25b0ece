"""What a user sees of Reports and sweeps, over one theme (theme.py): figures of a
Report (plots.py), of a sweep (sweep_plots.py) and of an FVP run (fvp_plots.py),
the tables the app shows (tables.py) and the standalone HTML report (html.py).
Views compute from Reports and sweep tables only: they never compile, parse
compiler output, or read the cache."""
