// Preloaded by bench/cold-start.ts and bench/decode.ts (`node --import`) into a run of the CLI:
// when the process exits, reports on stderr how long it ran after Node's own start-up, and its
// peak RSS. On Linux that is VmHWM, the high-water mark of this program's own memory:
// getrusage's maxRSS also keeps the parent's RSS at the fork that started this process.
import { readFileSync } from 'node:fs';

const start = performance.now();
function peakRssMB() {
  try {
    const kB = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (kB) return Number(kB[1]) / 1024;
  } catch {}
  return process.resourceUsage().maxRSS / 1024;
}
process.on('exit', () => {
  process.stderr.write(`${JSON.stringify({ node: start, cli: performance.now() - start, rssMB: peakRssMB() })}\n`);
});
