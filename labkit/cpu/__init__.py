"""The Cortex-M side: which kernels the CPU operators run on, and an estimate of their
cycles (cortex-m-estimate).

- ``kernels.py``      which kernel each CPU operator runs on (CMSIS-NN through the Cortex-M
                      backend, or ExecuTorch's portable kernels)
- ``work.py``         what one kernel call does: its kernel class and the counts the cost model prices
- ``cost_model.py``   cycles of one operator's work as a range, from the fitted coefficients
                      (data/cortex-m/coefficients.json); Cortex-M85 derived from the Cortex-M55 per term
- ``calibration.py``  the Cortex-M55 silicon measurements (data/cortex-m/*.csv) as Work, and the
                      model against them
- ``fit.py``          the fit that writes coefficients.json (``python -m labkit.cpu.fit``) and
                      its leave-one-source-out validation
- ``estimate.py``     a Report's CPU columns and its CPU and total time, from the above
"""
