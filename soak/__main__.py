"""`python -m soak` (what `scripts/soak` runs): see soak/README.md."""

from soak.run import main

raise SystemExit(main())
