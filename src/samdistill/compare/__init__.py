"""Comparing evaluated runs: paired bootstrap intervals, the paper-style table, the HTML report."""
