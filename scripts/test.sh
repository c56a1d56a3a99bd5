#!/usr/bin/env bash
# `npm test`: type check, generated-code drift check, lint and format, unit tests, then the integration tests
# against real etcd, kube-apiserver and network namespaces (one file at a time: they start real
# processes and touch the kernel). Suites that cannot run here say so loudly (*** SKIPPED … ***);
# under CI=true, or for components named in NETLOOM_REQUIRE, they fail instead (*** REQUIRED but
# missing … ***), and the summary at the end names what was missing and exits non-zero.
# Extra arguments go to vitest (e.g. `npm test -- lib/`).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
t0=$SECONDS
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Every suite that could not run appends a line here (test/harness/availability.ts).
export NETLOOM_AVAILABILITY_LOG="$out/availability.jsonl"
: >"$NETLOOM_AVAILABILITY_LOG"
status=0
echo "== typecheck"; tsc -p tsconfig.json || status=1
echo "== proto drift"; node scripts/proto-gen.ts --check || status=1
echo "== lint"; { eslint . && prettier --check . --log-level warn; } || status=1
echo "== unit tests"
vitest run --project unit --passWithNoTests --reporter=default --reporter=json --outputFile.json="$out/unit.json" "$@" || status=1
echo "== integration tests"
vitest run --project integration --passWithNoTests --reporter=default --reporter=json --outputFile.json="$out/integration.json" "$@" || status=1
node scripts/test-summary.ts "$NETLOOM_AVAILABILITY_LOG" "$out/unit.json" "$out/integration.json" || status=1
echo "== npm test finished in $((SECONDS - t0)) s (exit $status)"
exit $status
