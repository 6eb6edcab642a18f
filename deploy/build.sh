#!/bin/sh
# The image's build steps, in one place: the Dockerfile's build stage runs `deploy/build.sh --production`,
# and CI (.ci/run) and test/deploy-scripts.test.ts run this script outside Docker.
#   deploy/build.sh               install exactly the lockfile, build dist/ (npm ci runs `prepare`: tsc)
#   deploy/build.sh --production  the same, then drop the dev dependencies (the image's runtime)
set -eu
cd "$(dirname "$0")/.."

# npm 11 honours package.json's allowScripts (onnxruntime-node's install script does not run); npm 10
# ignores it, and this variable makes onnxruntime-node's script skip its GPU download (it would fail offline).
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
if [ "${1:-}" = "--production" ]; then
  npm prune --omit=dev --no-audit --no-fund
fi
# The build is usable: the CLI starts and loads its native modules (better-sqlite3, onnxruntime-node).
node dist/src/cli/main.js --help >/dev/null
node -e "require('better-sqlite3')(':memory:').close(); require('onnxruntime-node')"
echo "zkinfer built in $(pwd)"
