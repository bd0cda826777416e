#!/usr/bin/env bash
# Fuzzes the SMTP session engine (crates/smtp-proto) for a bounded time (scripts/fuzz-crate.sh).
# Usage: scripts/fuzz-smtp.sh [SECONDS]   (default 60)
exec bash "$(dirname "$0")/fuzz-crate.sh" smtp-proto session "${1:-60}"
