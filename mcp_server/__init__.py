"""The MCP face of exquisite: `exquisite-mcp` serves sessions as tools (see server.py)."""
