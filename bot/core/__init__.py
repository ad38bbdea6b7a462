"""The pure core: operations, command parsing, policy and rendering (no I/O)."""
