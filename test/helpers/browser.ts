// Headless Chromium from Debian, driven by playwright-core (no browser download), with the
// flags this machine needs (no sandbox as root, no background network: the network is
// closed). Screenshots go to test-artifacts/ at the repository's root.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { chromium, type Browser } from 'playwright-core';
import { needCommand } from './debian.js';

export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A browser (with a new empty profile, playwright's) that is closed when the test ends. */
export async function launchChromium(t: ExecutionContext): Promise<Browser> {
  const executablePath = needCommand('chromium', 'chromium');
  const browser = await chromium.launch({ executablePath, args: FLAGS, timeout: 60_000 });
  t.teardown(() => browser.close());
  return browser;
}

/** Where a test keeps a screenshot: test-artifacts/NAME. */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
