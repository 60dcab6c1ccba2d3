"""Pure folds from events to the read models the CLI and MCP show."""
