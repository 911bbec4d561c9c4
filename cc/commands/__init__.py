"""Click command groups of the `cc` CLI, one module per area; cli.py registers them."""
