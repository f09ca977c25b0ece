"""Everything the compile worker runs. The cache key hashes this package's source, so
any change here invalidates cached Reports.

- ``job.py``         CompileJob: what the worker needs, picklable; STAGES
- ``export.py``      checking example inputs, torch.export, a job's model inputs
- ``quantize.py``    PT2E with the Ethos-U quantizer (schemes, per-module configs, calibration)
- ``lower.py``       partition, lower to TOSA, CPU-kernel passes, Vela per partition, the .pte
- ``rows.py``        the operator rows of the partitioned graph, in the order the program runs them
- ``attribution.py`` Vela's layers joined back to the operators
- ``assemble.py``    the Report, from what the tools wrote
- ``failures.py``    what a toolchain failure says (operator, source line, the way around)
- ``graph_file.py``  the fake-quant graph as a small artifact
- ``native.py``      capturing what native tools print
- readers, one per file format: ``tosa.py`` (TOSA flatbuffer), ``vela.py`` (Vela's CSV, XML
  and npz), ``pte.py`` (ExecuTorch programs), ``debug.py`` (ExecuTorch's debug JSON)
"""
