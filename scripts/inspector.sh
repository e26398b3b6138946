#!/usr/bin/env bash
# Drive omni-mcp with the official MCP Inspector's CLI, a client we did not write, in both eras.
#
#   scripts/inspector.sh
#
# Needs npm (to install @modelcontextprotocol/inspector with its own Node 22) and an omni-mcp whose
# environment has the conformance fixture plugin:  pip install -e tests/conformance_plugin
#
# One fresh server (127.0.0.1, a free port, a new SQLite database, only the `conformance` plugin, local
# mode off so every request needs a credential) and two API keys made with `omni-mcp apikey create`: a
# member key whose allow-list names the tool test_simple_text, the prompt test_simple_prompt and the resource
# test://static-text, and an admin key. Then, in the handshake era (legacy)
# and the stateless one (modern), the Inspector must: be refused without a key and with a forged one
# (auth_required: it read the 401 and its WWW-Authenticate challenge); list only test_simple_text with
# the member key and call it; get the prompt and read the resource it names, but not another resource;
# list every fixture tool with
# the admin key. The last line is `inspector: N passed, M failed`; exit status 1 when M > 0.
#
# Environment:
#   OMNI_MCP_BIN              the omni-mcp command (default: omni-mcp on PATH)
#   OMNI_MCP_INSPECTOR_CACHE  where the Inspector is installed and reused
#                             (default: $HOME/.cache/omni-mcp-inspector)
set -euo pipefail

readonly INSPECTOR_SPEC="@modelcontextprotocol/inspector@2.12.0"
readonly NODE_SPEC="node@22"

omni_mcp="${OMNI_MCP_BIN:-omni-mcp}"
cache="${OMNI_MCP_INSPECTOR_CACHE:-$HOME/.cache/omni-mcp-inspector}"

die() {
    echo "inspector: $*" >&2
    exit 2
}

command -v npm >/dev/null || die "npm is needed to install the MCP Inspector"
command -v "$omni_mcp" >/dev/null || die "'$omni_mcp' not found: install omni-mcp or set OMNI_MCP_BIN"

work="$(mktemp -d "${TMPDIR:-/tmp}/omni-mcp-inspector.XXXXXX")"
server_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Inspector and its own Node 22, installed once into the cache.
dir="$cache/$(echo "$INSPECTOR_SPEC" | tr '/@' '__')"
if [[ ! -x "$dir/node_modules/.bin/mcp-inspector" || ! -x "$dir/node_modules/.bin/node" ]]; then
    echo "installing $INSPECTOR_SPEC with $NODE_SPEC into $dir" >&2
    staging="$dir.partial.$$"
    rm -rf "$staging"
    mkdir -p "$staging"
    echo '{"name": "omni-mcp-inspector", "private": true}' >"$staging/package.json"
    (cd "$staging" && npm install --no-audit --no-fund --loglevel=error "$INSPECTOR_SPEC" "$NODE_SPEC" >&2) \
        || { rm -rf "$staging"; die "could not install $INSPECTOR_SPEC"; }
    rm -rf "$dir"
    mv "$staging" "$dir"
fi
export PATH="$dir/node_modules/.bin:$PATH"
# The Inspector keeps a catalog and client settings under $HOME: give it a home of its own.
export HOME="$work/home"
mkdir -p "$HOME"

# The server, with no settings leaking in from this shell's OMNI_MCP_* variables or config file.
port="$(node -e '
const server = require("net").createServer();
server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close(); });')"
url="http://127.0.0.1:$port/mcp"
server_env=(env)
while IFS= read -r name; do
    server_env+=(-u "$name")
done < <(compgen -e | grep '^OMNI_MCP_' || true)
server_env+=(
    "OMNI_MCP_DATABASE__URL=sqlite:///$work/omni-mcp.sqlite"
    'OMNI_MCP_PLUGINS__ALLOW=["conformance"]'
    "OMNI_MCP_LOGGING__LEVEL=WARNING"
    "OMNI_MCP_AUTH__LOCAL_MODE=false"
    "OMNI_MCP_RATE_LIMIT__ENABLED=false"
    "OMNI_MCP_SECURITY__KEY_FILE=$work/secret.key"
)
key_for() { # role [allow-list options...]: a new key of the default organization, as its JSON "key"
    local args=(apikey create default --role "$1" --json "${@:2}")
    "${server_env[@]}" "$omni_mcp" "${args[@]}" 2>"$work/apikey.log" \
        | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).key));' \
        || { cat "$work/apikey.log" >&2; die "omni-mcp apikey create failed"; }
}
member_key="$(key_for member --tools test_simple_text --prompts test_simple_prompt --resources test://static-text)"
admin_key="$(key_for admin)"
"${server_env[@]}" "$omni_mcp" serve --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 60))
until node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' \
    "http://127.0.0.1:$port/health" 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "omni-mcp serve exited during start-up"; }
    ((SECONDS < deadline)) || { cat "$work/server.log" >&2; die "omni-mcp did not answer /health within 60 s"; }
    sleep 0.2
done
echo "omni-mcp on $url; $(mcp-inspector --version 2>/dev/null | head -n1 || echo "$INSPECTOR_SPEC")"

passed=0
failed=0
# check NAME JS -- ARGS...: run the Inspector CLI with ARGS; JS is a predicate on `out` (its parsed JSON
# output, stdout or else stderr) and `code` (its exit status).
check() {
    local name="$1" predicate="$2"
    shift 3
    local output code=0
    output="$(timeout 120 mcp-inspector --cli "$url" --format json -q --connect-timeout 10000 "$@" 2>&1)" || code=$?
    if OUTPUT="$output" CODE="$code" PREDICATE="$predicate" node -e '
let out = null;
try { out = JSON.parse(process.env.OUTPUT.trim().split("\n").filter((l) => l.startsWith("{")).pop()); } catch {}
const holds = new Function("out", "code", `return (${process.env.PREDICATE});`);
let verdict = false;
try { verdict = holds(out, Number(process.env.CODE)); } catch {}
process.exit(verdict ? 0 : 1);'; then
        passed=$((passed + 1))
        echo "ok      $name"
    else
        failed=$((failed + 1))
        echo "FAILED  $name (exit $code): $(echo "$output" | tr '\n' ' ' | cut -c1-400)"
    fi
}

member=(--header "Authorization: Bearer $member_key")
admin=(--header "Authorization: Bearer $admin_key")
forged="omk_aaaaaaaa_$(printf 'A%.0s' $(seq 43))"
for era in legacy modern; do
    e=(--protocol-era "$era")
    check "$era: no credential is refused (401 read as auth_required)" \
        'out?.error?.code === "auth_required"' -- "${e[@]}" --method tools/list --stored-auth-only
    check "$era: a forged key is refused" \
        'out?.error?.code === "auth_required"' -- "${e[@]}" --method tools/list --stored-auth-only \
        --header "Authorization: Bearer $forged"
    check "$era: a member key limited to one tool lists only that tool" \
        'code === 0 && JSON.stringify(out.result.tools.map((t) => t.name)) === "[\"test_simple_text\"]"' \
        -- "${e[@]}" "${member[@]}" --method tools/list
    check "$era: ... and calls it" \
        'code === 0 && out.result.isError === false && out.result.content[0].text === "This is a simple text response for testing."' \
        -- "${e[@]}" "${member[@]}" --method tools/call --tool-name test_simple_text
    check "$era: ... gets a prompt" \
        'code === 0 && out.result.messages[0].content.text === "This is a simple prompt for testing."' \
        -- "${e[@]}" "${member[@]}" --method prompts/get --prompt-name test_simple_prompt
    check "$era: ... reads a resource" \
        'code === 0 && out.result.contents[0].text === "This is the content of the static text resource."' \
        -- "${e[@]}" "${member[@]}" --method resources/read --uri test://static-text
    check "$era: ... but not a resource its allow-list does not name" \
        '!(code === 0 && out?.result?.contents)' \
        -- "${e[@]}" "${member[@]}" --method resources/read --uri test://static-binary
    check "$era: an admin key lists every fixture tool" \
        'code === 0 && ["test_simple_text", "test_error_handling", "test_tool_with_progress"].every((n) => out.result.tools.some((t) => t.name === n))' \
        -- "${e[@]}" "${admin[@]}" --method tools/list
done

echo "inspector: $passed passed, $failed failed"
((failed == 0)) || { echo "server log:" >&2; tail -n 40 "$work/server.log" >&2; exit 1; }
