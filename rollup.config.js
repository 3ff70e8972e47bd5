import commonjs from '@rollup/plugin-commonjs';
import resolve from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';

// Node entries keep their dependencies external (npm installs them); the browser and worker
// entries inline the image decoders so they load without a bundler or an import map.
const external = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');
const ts = () => esbuild({ target: 'es2022' });

export default [
  {
    input: { cli: 'src/cli/main.ts' },
    // The commands load on demand (src/cli/main.ts): chunks of their own, apart from the library's.
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/cli-[name].js' },
    external,
    plugins: [ts()],
  },
  {
    input: { core: 'src/core.ts', node: 'src/node.ts' },
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js' },
    external,
    plugins: [ts()],
  },
  {
    input: { core: 'src/core.ts', node: 'src/node.ts' },
    output: { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name].cjs' },
    external,
    plugins: [ts()],
  },
  {
    input: { index: 'src/index.ts', browser: 'src/browser.ts' },
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-web.js' },
    plugins: [resolve({ browser: true }), commonjs(), ts()],
  },
];
