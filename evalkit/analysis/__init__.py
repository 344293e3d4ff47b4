"""Analyses of a run beyond win rates: token distribution shift, ablations, judge comparison."""
