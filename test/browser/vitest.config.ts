import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:browser`: only the browser tests, which the root vitest.config.ts excludes from
// `npm test` because they need Chromium (Debian package `chromium`; set CHROMIUM_PATH elsewhere)
// and a built dist/.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
