import esbuild from 'rollup-plugin-esbuild';

// Dependencies stay external: Node resolves them from node_modules at run time.
export default {
  input: { node: 'src/node.ts', cli: 'src/cli/main.ts' },
  output: { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
  plugins: [esbuild({ target: 'node20' })],
};
