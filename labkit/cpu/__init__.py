"""The Cortex-M side: which kernels the CPU operators run on, and an estimate of
their cycles (cortex-m-estimate)."""
