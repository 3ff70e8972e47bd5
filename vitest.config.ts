import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The browser and ARM checks need Debian packages (chromium, qemu); .ci/run installs those and
    // runs them as `npm run test:browser` and `npm run test:arm`.
    exclude: [...configDefaults.exclude, 'test/browser/**', 'test/arm/**', '.cache/**'],
    // Some tests spawn the CLI or run whole networks (with onnxruntime-web beside them): seconds
    // each, and several times that while other test files share a small machine's cores.
    testTimeout: 30_000,
    setupFiles: ['test/helpers/setup.ts'],
  },
});
