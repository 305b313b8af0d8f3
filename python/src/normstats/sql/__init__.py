"""Exact SQL aggregate functions for PySpark: see :mod:`normstats.sql.functions`."""
