/**
 * What the fuzzers share: the report they return and the rule that decides a case. A case passes
 * when it ends in a typed {@link SqueezeError} or in a result that checks out; anything else thrown
 * (a TypeError, a RangeError from an allocation, a decoder's own Error) is a failure.
 */
import { LimitError, SqueezeError } from '../../src/errors.js';

/** The outcome of a fuzzing run. */
export interface FuzzReport {
  cases: number;
  /** Cases that crashed or returned a wrong result, with what went wrong. */
  failures: { id: string; error: string }[];
  /** How the cases ended: `ok`, an error code, or `E_LIMIT:<limit>`. */
  outcomes: Record<string, number>;
  /** The slowest case's wall time, and its id. */
  maxCaseMs: number;
  slowest: string;
}

/** Counts outcomes and failures as cases run. */
export class Tally {
  private readonly report: FuzzReport = { cases: 0, failures: [], outcomes: {}, maxCaseMs: 0, slowest: '' };

  /**
   * Runs one case and files it: `work` returns normally for a correct result (having checked it)
   * or throws. Typed errors are outcomes; anything else, a wrong result included, is a failure.
   */
  async run(id: string, work: () => unknown): Promise<void> {
    const start = performance.now();
    let outcome: string;
    try {
      await work();
      outcome = 'ok';
    } catch (e) {
      const typed = outcomeOf(e);
      if (typed === undefined) {
        this.fail(id, e);
        outcome = 'failure';
      } else outcome = typed;
    }
    const ms = performance.now() - start;
    this.report.cases++;
    this.report.outcomes[outcome] = (this.report.outcomes[outcome] ?? 0) + 1;
    if (ms > this.report.maxCaseMs) {
      this.report.maxCaseMs = ms;
      this.report.slowest = id;
    }
  }

  private fail(id: string, e: unknown): void {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    // The first hundred are enough to debug; outcomes has the count.
    if (this.report.failures.length < 100) this.report.failures.push({ id, error: text.slice(0, 500) });
  }

  get cases(): number {
    return this.report.cases;
  }

  done(): FuzzReport {
    return this.report;
  }
}

/** `code` (with the limit's name for a LimitError) of a typed error, undefined for anything else. */
export function outcomeOf(e: unknown): string | undefined {
  if (e instanceof LimitError) return `E_LIMIT:${e.limit}`;
  if (e instanceof SqueezeError) return e.code;
  return undefined;
}

/** Cases that failed: every outcome that is neither `ok` nor a typed error's code (`E_...`). */
export function failureCount(r: FuzzReport): number {
  return Object.entries(r.outcomes).reduce((n, [k, v]) => (k === 'ok' || k.startsWith('E_') ? n : n + v), 0);
}

/** Adds `b`'s counts into `a`. */
export function mergeReports(a: FuzzReport, b: FuzzReport): FuzzReport {
  const outcomes = { ...a.outcomes };
  for (const [k, v] of Object.entries(b.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  const slow = b.maxCaseMs > a.maxCaseMs ? b : a;
  return { cases: a.cases + b.cases, failures: [...a.failures, ...b.failures], outcomes, maxCaseMs: slow.maxCaseMs, slowest: slow.slowest };
}
