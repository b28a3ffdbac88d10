"""Experiments: many runs of a scenario (sweeps, designs, comparisons of policy packages),
the executors that run them, the store that keeps them and the analysis of what they found."""
