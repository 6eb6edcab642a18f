#!/bin/sh
# The image's start step (its ENTRYPOINT): `deploy/start.sh serve` (the API, the image's default) or
# `deploy/start.sh prover` (a prover node), configured by environment variables (README "Service",
# "Scale out"). test/deploy-scripts.test.ts starts it outside Docker after deploy/build.sh.
set -eu
cd "$(dirname "$0")/.."
exec node dist/src/cli/main.js "$@"
