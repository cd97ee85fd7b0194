"""Command groups of the `zoohub` CLI: one module per group, each with `register(subparsers)`."""
