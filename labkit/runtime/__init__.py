"""Running a compiled program on the host: the .pte interpreter (program.py), NPU
partitions on the TOSA reference model (tosa.py), ``labkit.simulate``
(simulate.py) and float-vs-int8 comparisons (evaluate.py)."""
