#!/usr/bin/env bash
# Install the reference MCP server the federation tests federate: @modelcontextprotocol/server-everything,
# with its own Node 22 (node@22 from npm), into a cache folder that the tests then use.
#
#   scripts/federation-servers.sh          prints the folder (installs first when needed)
#
# Environment: OMNI_MCP_FEDERATION_CACHE  where to install (default: $HOME/.cache/omni-mcp-federation)
set -euo pipefail

readonly SERVER_SPEC="@modelcontextprotocol/server-everything@2026.8.31"
readonly NODE_SPEC="node@22"
cache="${OMNI_MCP_FEDERATION_CACHE:-$HOME/.cache/omni-mcp-federation}"

command -v npm >/dev/null || { echo "federation-servers: npm is needed" >&2; exit 2; }
if [[ -x "$cache/node_modules/.bin/node" && -f "$cache/node_modules/@modelcontextprotocol/server-everything/dist/index.js" ]]; then
    echo "$cache"
    exit 0
fi
mkdir -p "$cache"
staging="$(mktemp -d "$cache/.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
(cd "$staging" && npm install --no-audit --no-fund --loglevel=error --prefix . "$SERVER_SPEC" "$NODE_SPEC" >&2)
rm -rf "$cache/node_modules" "$cache/package.json" "$cache/package-lock.json"
mv "$staging/node_modules" "$staging/package.json" "$staging/package-lock.json" "$cache/"
echo "$cache"
