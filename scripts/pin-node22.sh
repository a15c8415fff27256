#!/usr/bin/env bash
# Installs Node 22 (scripts/node22-version) into .tools/node22, once, without putting it on PATH:
# the libraries meant to run on Node 22 as well (@berth/filters, @berth/api, @berth/content) are
# tested with it (packages/content/test/pack.test.ts). Prints nothing; run by scripts/setup.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/install-node.sh"
berth_install_node "$(cat "$root/scripts/node22-version")" "$root/.tools/node22"
