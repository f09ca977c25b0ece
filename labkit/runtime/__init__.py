"""Running a compiled program on the host.

- ``program.py``         the .pte interpreter: CPU kernels in PyTorch, delegates on the TOSA reference model
- ``tosa_reference.py``  an NPU partition on the TOSA reference model (tosa-reference)
- ``tensors.py``         tensors as an ExecuTorch program lays them out (dim orders, sizes)
- ``simulate.py``        ``labkit.simulate(report, inputs)``
- ``evaluate.py``        ``labkit.evaluate``: pytorch-float vs fake-quant-int8 vs tosa-reference
- ``numerics.py``        ``labkit.numerics``: SQNR per operator, and of a report as compiled
"""
