#!/usr/bin/env bash
# Packed-install check: `npm pack` the publishable packages, install the tarballs into a fresh
# directory next to a different 3.x patch of effect than the repository's lockfile (as an app with
# its own effect would), then check that exactly one copy of effect is installed, that
# @realtime-fx/node brings neither the test kit nor @effect/cli, and that the installed packages run
# (smoke.mjs: a layer, an encoded event, a WAV round trip, a reply from the loopback fake server,
# the browser package's up-front credential check).
# Needs a fresh build (dist/ with nothing stale: .ci/run runs it in its clean copy of the tree) and
# the npm registry; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

# The app's effect: 3.22.2 is the lowest patch @effect/platform 0.97.2 accepts, the lockfile has a later one.
app_effect="${APP_EFFECT_VERSION:-3.22.2}"
lock_effect="$(node -p 'require("./package-lock.json").packages["node_modules/effect"].version')"
if [ "$app_effect" = "$lock_effect" ]; then
  echo "packed-install: the app's effect ($app_effect) must differ from the lockfile's ($lock_effect)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/tarballs" "$work/app"
for pkg in core node test-kit browser; do
  (cd "packages/$pkg" && npm pack --silent --pack-destination "$work/tarballs" >/dev/null)
done
tarball() { ls "$work"/tarballs/realtime-fx-"$1"-*.tgz; }

# Every tarball carries its LICENSE, README, package.json and built entry point.
for pkg in core node test-kit browser; do
  listing="$(tar -tzf "$(tarball "$pkg")")"
  for file in package/LICENSE package/README.md package/package.json package/dist/index.js package/dist/index.d.ts; do
    grep -qx "$file" <<<"$listing" || { echo "packed-install: $file missing from $(tarball "$pkg")" >&2; exit 1; }
  done
done

cp scripts/packed-install/smoke.mjs "$work/app/"
cd "$work/app"
cat >package.json <<JSON
{ "name": "packed-install-app", "private": true, "type": "module" }
JSON
# The README's Install command, with the tarballs for the packages and the app's own effect patch.
timeout 300 npm install --no-audit --no-fund --omit=dev --loglevel=error \
  "$(tarball core)" "$(tarball node)" "$(tarball test-kit)" "$(tarball browser)" \
  "effect@$app_effect" "@effect/platform@^0.97.2" "@effect/platform-node@^0.108.2" "@effect/platform-browser@^0.77.1"

# `npm ls` exits non-zero on a missing or invalid (out of range) peer dependency.
npm ls --all >/dev/null
npm ls effect --all
copies="$(find node_modules -path '*node_modules/effect/package.json' | wc -l)"
installed="$(node -p 'require("./node_modules/effect/package.json").version')"
echo "packed-install: $copies copy of effect installed ($installed)"
[ "$copies" -eq 1 ] || { echo "packed-install: expected exactly one copy of effect, found $copies" >&2; exit 1; }
[ "$installed" = "$app_effect" ] || { echo "packed-install: effect $installed installed, the app asked for $app_effect" >&2; exit 1; }

# @realtime-fx/node brings neither the test kit nor @effect/cli: none of its run-time dependencies
# names them and none of its built modules imports them (its devDependencies may).
node -e '
  const pkg = require("./node_modules/@realtime-fx/node/package.json")
  const runtime = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies })
  const bad = runtime.filter((name) => name === "@realtime-fx/test-kit" || name === "@effect/cli")
  if (bad.length > 0) { console.error(`packed-install: @realtime-fx/node depends on ${bad.join(", ")}`); process.exit(1) }
'
if grep -rlE '@realtime-fx/test-kit|@effect/cli' node_modules/@realtime-fx/node/dist; then
  echo "packed-install: @realtime-fx/node's dist refers to the test kit or @effect/cli (files above)" >&2
  exit 1
fi
[ ! -e node_modules/@effect/cli ] || { echo "packed-install: @effect/cli was installed" >&2; exit 1; }

timeout 60 node smoke.mjs 2>stderr.txt || { cat stderr.txt >&2; exit 1; }
# Two copies of effect at run time print a version mismatch warning: nothing may be printed on stderr.
if [ -s stderr.txt ]; then
  echo "packed-install: smoke.mjs wrote to stderr:" >&2
  cat stderr.txt >&2
  exit 1
fi
echo "packed-install: ok"
