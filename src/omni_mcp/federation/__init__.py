"""Federation: an organization's own MCP servers (streamable HTTP or stdio) served behind the gateway.

`models` holds the upstreams table, `service` changes it, `policy` is the operator's network and command
policy, `naming` namespaces upstream names, `connection` keeps one long-lived session per upstream,
`registry` turns what upstreams list into capabilities of the organization, `federation` ties them up.
"""
