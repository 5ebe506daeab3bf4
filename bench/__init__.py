"""The CafePOS benchmark harness: `make bench` (bench/run.py --help)."""
