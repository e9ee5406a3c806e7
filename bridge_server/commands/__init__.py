"""Subcommands of `airetouch`, one module each (see bridge_server/cli.py)."""
