"""The Cortex-M side: which kernels the CPU operators run on, and an estimate of their
cycles (cortex-m-estimate).

- ``kernels.py``     which kernel each CPU operator runs on (CMSIS-NN through the Cortex-M
                     backend, or ExecuTorch's portable kernels) and the work it does
- ``cost_model.py``  cycles of one operator's work as a range, calibrated on silicon (data/cortex-m/)
- ``estimate.py``    a Report's CPU columns and its CPU and total time, from the two above
"""
