"""The provisioning workers run at a lower CPU priority than the operator (runner.WORKER): a
fleet-wide change's Pulumi runs must not starve the operator's reactions or the webhooks."""

from __future__ import annotations

import os
import subprocess
import sys

from fleetyard.provisioning import runner


def test_a_worker_process_runs_niced_below_the_operator() -> None:
    interpreter = runner.WORKER.index(sys.executable)
    prefix = runner.WORKER[:interpreter]
    out = subprocess.run([*prefix, sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True,
                         text=True, check=True, timeout=30)
    assert int(out.stdout) == os.nice(0) + runner.WORKER_NICENESS
