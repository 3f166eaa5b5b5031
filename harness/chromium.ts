/**
 * Debian's headless Chromium driven by playwright-core, for the tests and the
 * chaos suite that look at a page as a person would: one set of launch flags
 * (as root it needs --no-sandbox; the background-networking flags keep it off
 * the closed network), a fresh profile per launch, closed before its profile
 * is removed (removing it first races Chromium's writes and leaves it running).
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why a browser test cannot run here (false when it can): for `test(…, { skip })`. */
export const noChromium: string | false = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)`;

const FLAGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A headless browser context with its own profile; `cleanup` closes it, then removes the profile. */
export async function launchChromium(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; cleanup: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'autoscale-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, viewport, args: FLAGS });
  return {
    context,
    cleanup: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Open a local file in `context` offline: every other request the page makes is refused and recorded, with its errors. */
export async function openOffline(context: BrowserContext, file: string, opts: { consoleErrors?: boolean } = {}): Promise<{ page: Page; url: string; requests: string[]; errors: string[]; console: string[] }> {
  const page = await context.newPage();
  const url = pathToFileURL(file).href;
  const requests: string[] = [];
  const errors: string[] = [];
  const console: string[] = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    requests.push(u);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    console.push(m.text());
    if (opts.consoleErrors === true && m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
  return { page, url, requests, errors, console };
}
