"""Everything the compile worker runs: export, quantize, lower to TOSA, Vela, the
.pte, and the Report built from what the tools wrote (one reader per file
format: tosa.py, vela.py, pte.py, debug.py). The cache key hashes this package's
source, so any change here invalidates cached Reports."""
