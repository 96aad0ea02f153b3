import json
import os
import subprocess
import sys

SCRIPT = """
import os, sys
from nautilus_tls.cli_jsonlog import print_json_line
for i in range(3000):
    print_json_line({"worker": os.getpid(), "i": i, "pad": "x" * 300})
"""


def test_two_unbuffered_writers_on_one_pipe_never_share_a_line() -> None:
    # print(..., flush=True) under PYTHONUNBUFFERED writes text and newline separately, and two
    # serve workers' records then landed on one line (a CI failure).
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    read_end, write_end = os.pipe()
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=write_end, env=env)
        for _ in range(2)
    ]
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        lines = reader.read().splitlines()
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    records = [json.loads(line) for line in lines]
    assert len(records) == 6000
    assert {r["worker"] for r in records} == {p.pid for p in procs}
