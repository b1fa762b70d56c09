"""One module per `retinavlm` subcommand: `add_arguments(parser)` and `run(args) -> int`."""
