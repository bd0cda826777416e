#!/usr/bin/env bash
# Fuzzes the delivery helper's request decoder (crates/lspawn) for a bounded time
# (scripts/fuzz-crate.sh). Usage: scripts/fuzz-lspawn.sh [SECONDS]   (default 60)
exec bash "$(dirname "$0")/fuzz-crate.sh" lspawn frame "${1:-60}"
