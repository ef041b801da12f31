"""The provisioning workers run at a lower CPU priority than the operator (runner.WORKER): a
fleet-wide change's Pulumi runs must not starve the operator's reactions or the webhooks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fleetyard.provisioning import runner


def test_a_worker_process_runs_niced_below_the_operator() -> None:
    interpreter = runner.WORKER.index(sys.executable)
    prefix = runner.WORKER[:interpreter]
    out = subprocess.run([*prefix, sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True,
                         text=True, check=True, timeout=30)
    assert int(out.stdout) == os.nice(0) + runner.WORKER_NICENESS


@pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"), reason="no kernel autogroups here")
def test_a_worker_session_shares_the_cpu_at_that_priority_too() -> None:
    """With autogroups the kernel shares CPU between sessions first; a worker has a session of its own."""
    prefix = runner.WORKER[:runner.WORKER.index(sys.executable)]
    code = "from fleetyard.provisioning import worker; worker._session_priority(); print(open('/proc/self/autogroup').read())"
    out = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60, start_new_session=True)
    assert out.stdout.split()[-1] == str(os.nice(0) + runner.WORKER_NICENESS)
