// Preloaded by bench/cold-start.ts (`node --import`) into a run of the CLI: when the process
// exits, reports on stderr how long it ran after Node's own start-up, and its peak RSS.
const start = performance.now();
process.on('exit', () => {
  const rssMB = process.resourceUsage().maxRSS / 1024;
  process.stderr.write(`${JSON.stringify({ node: start, cli: performance.now() - start, rssMB })}\n`);
});
