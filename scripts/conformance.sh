#!/usr/bin/env bash
# Run the MCP conformance suite's server scenarios against omni-mcp serving the conformance fixture.
#
#   scripts/conformance.sh
#
# Needs npm (to install the suites, each with its own Node 22) and an omni-mcp whose environment has
# the fixture plugin installed:  pip install -e tests/conformance_plugin
#
# Three runs, each against the same fresh server (127.0.0.1, a free port, a new SQLite database, only
# the `conformance` plugin allowed):
#   0.1.16      @modelcontextprotocol/conformance@0.1.16, its active suite (handshake era)
#   2025-11-25  @modelcontextprotocol/conformance@0.2.0-alpha.12 --requirements 2025-11-25
#   2026-07-28  @modelcontextprotocol/conformance@0.2.0-alpha.12 --requirements 2026-07-28 (stateless era)
#
# How checks are counted (from each scenario's checks.json, not from the suite's exit code):
#   scored      every scenario of 0.1.16's active suite; for the alpha runs, the scenarios the revision's
#               requirement set (requirements/<revision>.yaml in the suite) lists under `server`, plus
#               its `not_scored` scenarios of reason `extension` (the tasks-* ones: omni-mcp implements
#               the tasks extension, so they count).
#   unscored    the alpha runs' other `not_scored` scenarios (pending and added-after-release ones). They run and their failures are listed as `unscored: ...`, but
#               they never count as passed or failed: the suite itself does not score them.
#   expected    a failing check (scored or not) named in scripts/conformance-baseline.yml for that run:
#               listed as `expected: ...` with the baseline's reason, never counted as failed.
#   warnings    checks with status WARNING (SHOULD-level findings): listed, not counted.
#
# The last line is `conformance: N passed, M failed`: N counts the passing checks of scored scenarios
# over all three runs; M counts what should fail CI: failing checks of scored scenarios that the baseline
# does not expect, stale baseline entries (each entry must match a failing check of its run), scored
# scenarios that produced no results, and runs that could not be carried out. Exit status 1 when M > 0.
#
# Environment:
#   OMNI_MCP_BIN                  the omni-mcp command (default: omni-mcp on PATH)
#   OMNI_MCP_CONFORMANCE_CACHE    where the suites are installed and reused
#                                 (default: $HOME/.cache/omni-mcp-conformance)
#   OMNI_MCP_CONFORMANCE_OUT      where results are written (default: a new folder under $TMPDIR)
#   OMNI_MCP_CONFORMANCE_TIMEOUT  seconds one run may take (default: 900)
set -euo pipefail

readonly STABLE_VERSION="0.1.16"
readonly ALPHA_VERSION="0.2.0-alpha.12"
readonly NODE_SPEC="node@22"
readonly YAML_SPEC="yaml@2"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
baseline="$script_dir/conformance-baseline.yml"
omni_mcp="${OMNI_MCP_BIN:-omni-mcp}"
cache="${OMNI_MCP_CONFORMANCE_CACHE:-$HOME/.cache/omni-mcp-conformance}"
run_timeout="${OMNI_MCP_CONFORMANCE_TIMEOUT:-900}"

die() {
    echo "conformance: $*" >&2
    exit 2
}

command -v npm >/dev/null || die "npm is needed to install the conformance suites"
command -v "$omni_mcp" >/dev/null || die "'$omni_mcp' not found: install omni-mcp or set OMNI_MCP_BIN"
[[ -f "$baseline" ]] || die "baseline file $baseline is missing"

work="$(mktemp -d "${TMPDIR:-/tmp}/omni-mcp-conformance.XXXXXX")"
out="${OMNI_MCP_CONFORMANCE_OUT:-$work/results}"
mkdir -p "$out"
server_pid=""

stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    stop_server
    rm -rf "$work/data"
    rmdir "$work" 2>/dev/null || true # kept when the results are in it
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Install one suite version (with its own Node 22) into the cache, or reuse the copy already there.
install_suite() {
    local version="$1" extra="${2:-}"
    local dir="$cache/conformance-$version"
    local manifest="$dir/node_modules/@modelcontextprotocol/conformance/package.json"
    if [[ -x "$dir/node_modules/.bin/conformance" && -x "$dir/node_modules/.bin/node" && -f "$manifest" ]] \
        && grep -q "\"version\": \"$version\"" "$manifest" \
        && { [[ -z "$extra" ]] || [[ -d "$dir/node_modules/${extra%@*}" ]]; }; then
        echo "$dir"
        return
    fi
    echo "installing @modelcontextprotocol/conformance@$version with $NODE_SPEC into $dir" >&2
    local staging="$dir.partial.$$"
    rm -rf "$staging"
    mkdir -p "$staging"
    echo '{"name": "omni-mcp-conformance-suite", "private": true}' >"$staging/package.json"
    # shellcheck disable=SC2086 # $extra is one optional package spec
    if ! (cd "$staging" && npm install --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/conformance@$version" "$NODE_SPEC" $extra >&2); then
        rm -rf "$staging"
        die "could not install @modelcontextprotocol/conformance@$version"
    fi
    rm -rf "$dir"
    mv "$staging" "$dir"
    echo "$dir"
}

stable_dir="$(install_suite "$STABLE_VERSION")"
alpha_dir="$(install_suite "$ALPHA_VERSION" "$YAML_SPEC")"
node_bin="$alpha_dir/node_modules/.bin/node"

# Start the gateway: loopback, a free port, a database of its own, only the conformance plugin, and no
# settings leaking in from this shell's OMNI_MCP_* variables or config file.
port="$("$node_bin" -e '
const server = require("net").createServer();
server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close(); });')"
base_url="http://127.0.0.1:$port"
mkdir -p "$work/data"
server_env=(env)
while IFS= read -r name; do
    server_env+=(-u "$name")
done < <(compgen -e | grep '^OMNI_MCP_' || true)
server_env+=(
    "OMNI_MCP_DATABASE__URL=sqlite:///$work/data/omni-mcp.sqlite"
    'OMNI_MCP_PLUGINS__ALLOW=["conformance"]'
    "OMNI_MCP_LOGGING__LEVEL=WARNING"
    "OMNI_MCP_GATEWAY__PATH=/mcp"
    # The suite sends hundreds of requests from one caller within seconds; what it checks is the
    # protocol, not our rate limits (tests/test_protection.py covers those).
    "OMNI_MCP_RATE_LIMIT__ENABLED=false"
    # Secret settings need a key; keep the generated one inside this run's folder.
    "OMNI_MCP_SECURITY__KEY_FILE=$work/data/secret.key"
)
"${server_env[@]}" "$omni_mcp" serve --host 127.0.0.1 --port "$port" >"$out/server.log" 2>&1 &
server_pid=$!

# Wait for /health, then make sure the fixture plugin is loaded and served.
health=""
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; die "omni-mcp serve exited during start-up"; }
    if health="$("$node_bin" -e '
fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()); })
  .catch(() => process.exit(1));' "$base_url/health" 2>/dev/null)"; then
        break
    fi
    health=""
    sleep 0.2
done
[[ -n "$health" ]] || { cat "$out/server.log" >&2; die "omni-mcp did not answer GET /health within 60 s"; }
# shellcheck disable=SC2016 # JavaScript, not shell
fixture_state="$("$node_bin" -e 'const p = JSON.parse(process.argv[1]).plugins?.conformance;
console.log(!p ? "missing" : p.serving ? "serving" : `withheld: ${p.status} ${p.detail ?? ""}`);' "$health")"
case "$fixture_state" in
serving) ;;
missing) die "the conformance fixture plugin is not installed next to $omni_mcp; install it with the pip of that environment: pip install -e tests/conformance_plugin" ;;
*) die "the conformance fixture plugin is loaded but not served ($fixture_state); see $out/server.log" ;;
esac
echo "omni-mcp serving the conformance fixture on $base_url/mcp (log: $out/server.log)"

# Run the three suites. Their exit codes are recorded; the verdict comes from their checks.json files.
runs=()
run_suite() {
    local name="$1" dir="$2" requirements="$3"
    shift 3
    rm -rf "${out:?}/$name"
    local started=$SECONDS rc=0
    PATH="$dir/node_modules/.bin:$PATH" timeout "$run_timeout" \
        conformance server --url "$base_url/mcp" "$@" -o "$out/$name" >"$out/$name.log" 2>&1 || rc=$?
    echo "ran $name in $((SECONDS - started)) s (suite exit code $rc, log: $out/$name.log)"
    runs+=("$name|$out/$name|$out/$name.log|$rc|$requirements")
}
requirements_dir="$alpha_dir/node_modules/@modelcontextprotocol/conformance/requirements"
run_suite "$STABLE_VERSION" "$stable_dir" "" --suite active
run_suite "2025-11-25" "$alpha_dir" "$requirements_dir/2025-11-25.yaml" --requirements 2025-11-25
run_suite "2026-07-28" "$alpha_dir" "$requirements_dir/2026-07-28.yaml" --requirements 2026-07-28
stop_server

# Score the runs against the baseline (see the header for the rules).
echo "results: $out"
status=0
CONFORMANCE_YAML="$alpha_dir/node_modules/yaml" CONFORMANCE_ALPHA="$ALPHA_VERSION" "$node_bin" - "$baseline" "${runs[@]}" <<'JS' || status=$?
const fs = require("fs");
const path = require("path");
const YAML = require(process.env.CONFORMANCE_YAML);

const [baselinePath, ...runSpecs] = process.argv.slice(2);
const lines = [];
let passed = 0;
let failed = 0;
let expectedByRun = {};
try {
  expectedByRun = (YAML.parse(fs.readFileSync(baselinePath, "utf8")) ?? {}).expected_failures ?? {};
} catch (error) {
  lines.push(`failed: the baseline ${baselinePath} could not be read: ${oneLine(error?.message ?? error)}`);
  failed++;
}

function oneLine(text) {
  return String(text ?? "").replace(/\s+/g, " ").trim().slice(0, 300);
}

function score(spec) {
  const [name, resultsDir, logPath, exitCode, requirementsPath] = spec.split("|");
  const entries = (expectedByRun[name] ?? []).map((entry) => {
    if (!entry?.id || !entry?.reason) throw new Error(`baseline ${name}: every entry needs an id and a reason`);
    const [scenario, ...rest] = String(entry.id).split(":");
    return { id: String(entry.id), scenario, check: rest.join(":") || null, reason: oneLine(entry.reason), used: false };
  });

  // Which scenarios count: the requirement set's `server` list (alpha), or everything run (0.1.16).
  let scored = null;
  const unscoredReason = new Map();
  if (requirementsPath) {
    const requirements = YAML.parse(fs.readFileSync(requirementsPath, "utf8"));
    scored = new Set(requirements.server ?? []);
    for (const item of requirements.not_scored ?? []) {
      if (item.leg !== "server") continue;
      if (item.reason === "extension") scored.add(item.scenario); // the tasks extension: we implement it
      else unscoredReason.set(item.scenario, item.reason);
    }
  }

  // What ran: announced in the log, and what wrote results.
  const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8") : "";
  const announced = [...log.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
  const results = new Map();
  if (fs.existsSync(resultsDir)) {
    for (const folder of fs.readdirSync(resultsDir).sort()) {
      const file = path.join(resultsDir, folder, "checks.json");
      if (!fs.existsSync(file)) continue;
      const scenario = folder.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
      results.set(scenario, JSON.parse(fs.readFileSync(file, "utf8")));
    }
  }

  const tally = { passed: 0, expected: 0, unscoredPassed: 0, unscoredFailed: 0, warnings: 0 };
  const problems = [];
  const scenarios = [...new Set([...announced, ...results.keys(), ...(scored ?? [])])];
  for (const scenario of scenarios) {
    const isScored = scored ? scored.has(scenario) : true;
    const checks = results.get(scenario);
    if (!checks) {
      if (isScored) problems.push(`failed: ${name} ${scenario}: the scenario wrote no results (see ${logPath})`);
      else lines.push(`unscored: ${name} ${scenario} (${unscoredReason.get(scenario) ?? "not scored"}): no results`);
      continue;
    }
    const unexpectedUnscored = [];
    for (const check of checks) {
      if (check.status === "SUCCESS") {
        if (isScored) tally.passed++;
        else tally.unscoredPassed++;
      } else if (check.status === "WARNING") {
        tally.warnings++;
        lines.push(`warning: ${name} ${scenario}:${check.id}: ${oneLine(check.errorMessage ?? check.description)}`);
      } else if (check.status === "FAILURE") {
        const entry = entries.find((e) => e.scenario === scenario && (e.check === null || e.check === check.id));
        if (entry) {
          entry.used = true;
          tally.expected++;
          lines.push(`expected: ${name} ${scenario}:${check.id}: ${entry.reason}`);
        } else if (isScored) {
          problems.push(`failed: ${name} ${scenario}:${check.id}: ${oneLine(check.errorMessage ?? check.description)}`);
        } else {
          tally.unscoredFailed++;
          unexpectedUnscored.push(check.id);
        }
      }
    }
    if (unexpectedUnscored.length) {
      const reason = unscoredReason.get(scenario) ?? "not scored";
      lines.push(`unscored: ${name} ${scenario} (${reason}): ${unexpectedUnscored.length} failing check(s): ${[...new Set(unexpectedUnscored)].join(", ")}`);
    }
  }
  for (const entry of entries.filter((e) => !e.used)) {
    problems.push(`stale: ${name} ${entry.id}: the baseline expects it to fail, but it did not; remove the entry`);
  }
  const ranAtAll = announced.length > 0 || results.size > 0;
  if (!ranAtAll) problems.push(`failed: ${name}: the suite ran no scenario (exit code ${exitCode}; see ${logPath})`);
  else if (exitCode !== "0" && exitCode !== "1") problems.push(`failed: ${name}: the suite exited with code ${exitCode} (see ${logPath})`);

  lines.push(...problems);
  const countedFailures = problems.length; // unexpected failing checks, stale entries, missing results
  passed += tally.passed;
  failed += countedFailures;
  const scope = requirementsPath
    ? `suite ${process.env.CONFORMANCE_ALPHA}, --requirements ${name}`
    : `suite ${name}, active scenarios`;
  lines.push(
    `run ${name} (${scope}): ${tally.passed} passed, ${countedFailures} failed, ${tally.expected} expected failures; ` +
      `unscored checks: ${tally.unscoredPassed} passed, ${tally.unscoredFailed} failing; ${tally.warnings} warnings`,
  );
}

for (const spec of runSpecs) {
  try {
    score(spec);
  } catch (error) {
    lines.push(`failed: ${spec.split("|")[0]}: could not score the run: ${oneLine(error?.message ?? error)}`);
    failed++;
  }
}

for (const line of lines) console.log(line);
console.log(`conformance: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
JS
exit "$status"
