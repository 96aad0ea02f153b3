"""``python -m nautilus_tls``: the ``nautilus-tls`` command line."""

from nautilus_tls.cli import main

raise SystemExit(main())
