// Types of serve.mjs, for TypeScript callers (test/browser/browser.test.ts).
import type { Server } from 'node:http';

export const REPO_ROOT: string;
export const MIME_TYPES: Readonly<Record<string, string>>;

export interface StartOptions {
  /** Directory to serve (default: the repository root). */
  root?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Called with one line per response, e.g. `200 GET /dist/browser.js`. */
  log?: (line: string) => void;
}

export interface StaticServer {
  server: Server;
  /** The served directory, symlinks resolved. */
  root: string;
  port: number;
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

export function startServer(options?: StartOptions): Promise<StaticServer>;
