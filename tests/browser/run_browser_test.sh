#!/bin/sh
# ctest entry for the dashboard browser test: installs playwright-core from
# package-lock.json into the build tree (npm ci; served from npm's cache when
# it has it) and runs dashboard_test.mjs with Debian's Chromium.
#   run_browser_test.sh SOURCE_DIR WORK_DIR SERVER_BINARY CLI_BINARY FIXTURES_DIR
set -eu
source_dir=$1 work_dir=$2 server=$3 cli=$4 fixtures=$5
command -v node >/dev/null || { echo "node is missing: run make deps" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing: run make deps" >&2; exit 1; }
[ -x "${CHROMIUM_BINARY:-/usr/bin/chromium}" ] || { echo "chromium is missing: run make deps" >&2; exit 1; }
mkdir -p "$work_dir"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/dashboard_test.mjs" "$work_dir/"
cd "$work_dir"
# node_modules/.installed-lock: the lock file the last npm ci installed.
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.installed-lock
fi
exec node dashboard_test.mjs "$server" "$cli" "$fixtures" "$work_dir/screenshots"
