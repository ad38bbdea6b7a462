#!/usr/bin/env bash
# Install the npm packages the Node contract checks run (Nosana's published job-definition
# validator, @nosana/types) into a git-ignored cache under the repository: .cache/node.
# Prints the cache directory on success. Exits 2 when node/npm are missing, 1 when the
# install fails. Safe to run again: an installed, matching version is kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${DEPLOYBOT_NODE_CACHE:-$root/.cache/node}
package=@nosana/types
version=2.1.6

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ensure-node-deps: node and npm are needed" >&2
  exit 2
fi
installed="$dir/node_modules/$package/package.json"
if [ -f "$installed" ] && node -e '
  const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version;
  process.exit(v === process.argv[2] ? 0 : 1)' "$installed" "$version"; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
if [ ! -f "$dir/package.json" ]; then
  printf '{"name":"deploybot-node-checks","private":true}\n' >"$dir/package.json"
fi
if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$package@$version" >&2; then
  echo "ensure-node-deps: npm install $package@$version failed" >&2
  exit 1
fi
echo "$dir"
