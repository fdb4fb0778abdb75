"""Measuring answers: test sets and runs (``run``), metrics, calibration, reports and ``qa eval``."""
