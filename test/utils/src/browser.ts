import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { REPO_ROOT } from './datasets.js';

// Headless Chromium for the viewer's and the HTML report's tests: Debian's `chromium` package
// driven by playwright-core (never `playwright install`: no browser is downloaded). `.ci/run`
// installs the package when it is missing.

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why no browser test can run here, or null. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install -y chromium)`;
}

/** Where tests keep screenshots (kept after the run: `test-artifacts/`, ignored by git). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

/** A headless Chromium (playwright gives it a fresh profile of its own); `await using` closes it. */
export interface TestBrowser extends AsyncDisposable {
  readonly browser: Browser;
  /** A new page whose console errors and uncaught exceptions are collected in `errors`. */
  page(): Promise<{ page: Page; errors: string[] }>;
}

export async function launchChromium(): Promise<TestBrowser> {
  // The closed network refuses Chromium's background connections: turn them off.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async page() {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('console', (m: ConsoleMessage) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e: Error) => errors.push(e.message));
      return { page, errors };
    },
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  };
}
