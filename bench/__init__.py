"""Benchmarks: Nautilus TLS side by side with Python's ssl, Node.js 24, tlslite-ng and plain TCP.

Run ``python -m bench`` from the repository root (``--quick`` for a one-minute smoke run,
``--json`` for machines). The full run rewrites ``bench/RESULTS.md``. These are benchmarks,
not tests: nothing here fails because the machine is slow; it reports.

Modules, in the order the data flows:

* :mod:`bench.pki` - certificates (ML-DSA-65, ECDSA P-256) as PEM files all peers can read.
* :mod:`bench.wire` - the tiny request protocol every server speaks (echo, or bulk sink).
* :mod:`bench.stacks` - the asyncio stacks (Nautilus, Python ssl, plain TCP) behind one shape.
* :mod:`bench.scenarios` - handshakes, time to first byte, bulk, idle RSS: one harness for
  all asyncio stacks.
* :mod:`bench.tlslite_stack` - the same scenarios over tlslite-ng (blocking, threads).
* :mod:`bench.node` + ``node_bench.js`` - the same scenarios inside Node 24.
* :mod:`bench.worker` - child processes: a server for the two-process variant, RSS probes.
* :mod:`bench.workers` - ``serve --workers 1`` against ``2``: handshake rates and CPU per
  handshake of server, clients and other processes.
* :mod:`bench.profiling` - where Nautilus spends its time (pyinstrument, cProfile).
* :mod:`bench.report` - the machine, statistics, ratios against targets, RESULTS.md.
* :mod:`bench.runner` - the command line and the order of the runs.
"""
