import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './paths.js';

/**
 * A real browser for the web console's tests: Debian's chromium (no browser download works on these machines),
 * headless, driven by playwright-core, in a window of the size the console is made for (1280×800). Each page
 * records what went wrong in it (an uncaught exception, a console error), for the test to check.
 */

export const VIEWPORT = { width: 1280, height: 800 };

/** Where the screenshots go: test artifacts, not committed (the README's copies are in docs/console/). */
export const artifactsDir = join(repoRoot, 'test-artifacts/console');

export const launchChromium = (executablePath: string): Promise<Browser> =>
  chromium.launch({
    executablePath,
    headless: true,
    // Chromium refuses to run as root with its sandbox on; CI runs as root.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Uncaught exceptions and console errors of the page so far. */
  problems: string[];
}

/** A new browser context (its own storage) on `baseURL`, and a page in it. */
export const openConsole = async (
  browser: Browser,
  baseURL: string,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<ConsolePage> => {
  const context = await browser.newContext({ baseURL, viewport: VIEWPORT, colorScheme });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return { page, context, problems };
};

/** A screenshot of the window (1280×800) as test-artifacts/console/NAME.png; returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
};

/** Chooses a theme with the console's toggle (as a user does; remembered in localStorage). */
export const chooseTheme = async (page: Page, theme: 'light' | 'dark'): Promise<void> => {
  for (let clicks = 0; (await page.locator('html').getAttribute('data-theme')) !== theme; clicks++) {
    if (clicks === 2) throw new Error(`the theme toggle does not reach ${theme}`);
    await page.getByTestId('theme-toggle').click();
  }
  await page.mouse.move(640, 790); // off the toggle: no hover border in the screenshots
};

/** Screenshots in both themes, chosen with the toggle: NAME-light.png and NAME-dark.png. */
export const screenshotBothThemes = async (page: Page, name: string): Promise<void> => {
  for (const theme of ['light', 'dark'] as const) {
    await chooseTheme(page, theme);
    await screenshot(page, `${name}-${theme}`);
  }
};
