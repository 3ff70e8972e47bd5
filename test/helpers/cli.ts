import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm test builds dist/ first). */
export const bin = fileURLToPath(new URL('../../bin/squeezewasm.js', import.meta.url));

/** Runs the CLI the way a user would; resolves with its exit code and output. */
export function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** What {@link cliMeasured} saw: {@link cli}'s result, the wall time and the peak resident set. */
export interface MeasuredRun {
  /** The exit code; null if the run was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the CLI's process, from GNU time (wait4's ru_maxrss); NaN if it was killed. */
  peakRssBytes: number;
}

/** The data segment a measured run may reach: should a regression read without end, it fails here instead of taking the machine's memory. */
const MEASURED_DATA_BYTES = 2 ** 31;

/**
 * Runs the CLI under GNU time (/usr/bin/time) and prlimit, for tests of what a run costs. Its
 * process group is killed after `timeoutMs`. Linux only: a missing tool fails the test.
 */
export function cliMeasured(args: string[], timeoutMs = 10_000): Promise<MeasuredRun> {
  const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-rss-'));
  const rssFile = join(dir, 'rss');
  const t0 = performance.now();
  const child = spawn('prlimit', [`--data=${MEASURED_DATA_BYTES}`, '/usr/bin/time', '-f', '%M', '-o', rssFile, process.execPath, bin, ...args], { detached: true });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      // GNU time writes "Command exited with non-zero status 1" before the number when the run
      // fails, and nothing when it is killed with the CLI.
      const kib = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop() || NaN) : NaN;
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms, peakRssBytes: kib * 1024 });
    });
  });
}
