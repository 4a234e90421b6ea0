"""Yunque's benchmarks: one command (`make bench`), results in bench/results.json and a table.

Figures are medians, 95th percentiles and ratios against a baseline measured in the same run: the
machines are shared and noisy, so a single absolute time means little."""

import os

# The benches time the process, not the post: a notice is served when it is issued (the rule an office may
# choose), so a case opened "at" a moment has its deadline from that moment (bench/deadlines.py needs it).
# The stack tests run the default rule, actual service by mail or portal (tests/e2e).
os.environ.setdefault("YUNQUE_SERVICE_RULE", "issue")
