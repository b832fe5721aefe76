/** Debian's Chromium as the board's browser tests and `bench/speed/playground.ts` launch it (playwright-core). */
export const CHROMIUM = process.env.DYNAMOE_CHROMIUM ?? "/usr/bin/chromium";

/** No network, no GPU, nothing in the background; playwright gives each launch a fresh profile (its own --user-data-dir). */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
