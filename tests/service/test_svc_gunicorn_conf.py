"""service.gunicorn_conf: HTTP workers run under SCHED_BATCH (checked in a fresh process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service import gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, threading
from service.gunicorn_conf import post_fork
before = os.sched_getscheduler(0)
post_fork(None, None)
seen = []
thread = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
thread.start(); thread.join()
print(before, os.sched_getscheduler(0), seen[0])
"""


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux-only")
def test_post_fork_switches_the_worker_and_its_later_threads_to_sched_batch():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    before, main_thread, later_thread = map(int, out)
    assert before == os.SCHED_OTHER
    assert main_thread == later_thread == os.SCHED_BATCH


def test_settings_are_the_ones_serve_uses():
    assert gunicorn_conf.worker_class == "gthread"
    assert gunicorn_conf.timeout == 120
