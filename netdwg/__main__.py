"""`python -m netdwg` runs the CLI."""

from netdwg.cli import main

raise SystemExit(main())
