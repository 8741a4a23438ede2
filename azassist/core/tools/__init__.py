"""What the assistant can do besides talking: built-in tools and the user's MCP servers.

Qt-free and LiveKit-free at import: the window imports the settings and policy parts before
its first paint; ``toolbox`` (LiveKit) and ``mcp_servers`` (the MCP SDK, only when a server is
enabled) load when a conversation connects.

- ``policy``: who decides whether a call runs (Allow once / for this conversation / Deny).
- ``builtin``: the clock, timers and reminders, the clipboard, opening a web address.
- ``timers``: the timers behind the reminder tool (they outlive a connection).
- ``mcp_config``: MCP server settings, their secrets in the keyring, importing ``mcpServers`` files.
- ``toolbox``: the tool list one connection gives LiveKit, with confirmation and activity reports.
- ``mcp_servers``: ``MCPToolset`` per enabled server; failures reported per server.
"""
