"""The MCP server (`gpumod mcp`): AI assistants operate the GPU and ask about its past.

An adapter like the CLI: every tool calls the same commands, sagas and read models the CLI
calls. Imported only by `gpumod mcp`, because the `mcp` SDK takes about a second to import.
See docs/adr/0009-mcp-server.md.
"""
