"""Small programs the benchmarks run as subprocesses (each prints one JSON line)."""
