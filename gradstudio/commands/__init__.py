"""Headless subcommands of the gradstudio CLI, one module each (run, shot, export)."""
