"""Sub-commands of `hub` beyond the core ones; each module has `register(subparsers)`.

A command module adds its parser with `set_defaults(func=...)`, where `func(args) -> int`
is the exit status. Modules are imported when the CLI starts, so keep imports of heavy
libraries inside the command functions.
"""
