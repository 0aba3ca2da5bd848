"""Benchmarks of threadstore (not part of the package). See bench/README.md."""
