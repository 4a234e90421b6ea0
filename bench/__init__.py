"""Yunque's benchmarks: one command (`make bench`), results in bench/results.json and a table.

Figures are medians, 95th percentiles and ratios against a baseline measured in the same run: the
machines are shared and noisy, so a single absolute time means little."""
