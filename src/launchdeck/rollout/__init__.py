"""Progressive delivery: canary and blue-green releases, judged against their baseline.

So far: the pure judge (`judge.py`). The release state machine, the controller, the nginx and
command targets and the metric sources build on it (issue 6).
"""
