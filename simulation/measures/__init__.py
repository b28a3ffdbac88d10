"""Measures of whole runs: the outcome regime, the run-level summary a sweep stores, and statistics (intervals)."""
