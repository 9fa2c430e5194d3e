"""Benchmarks of the Hadoop Eco provider: triggerer capacity, import cost, detection latency.

Entry point: ``python benchmarks/run.py`` (``make bench``). See ``benchmarks/RESULTS.md``.
"""
