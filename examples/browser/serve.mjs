#!/usr/bin/env node
// @ts-check
// A tiny static file server with no dependencies, for the browser example and its test.
//
//   node examples/browser/serve.mjs [--port 8080] [--host 127.0.0.1] [root]
//
// Serves `root` (default: the repository root, so that the page can import ../../dist/browser.js
// and the package finds dist/squeezewasm.wasm and weights/*.sqz next to it). GET and HEAD only;
// paths that leave the root (.., encoded or not, or a symlink pointing outside) are refused with
// 403, and dotfiles (.git, .env, ...) are not served. Meant for local development, not production.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** The repository (or installed package) root: two levels above this file. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Content types by file extension; anything else is application/octet-stream. */
/** @type {Readonly<Record<string, string>>} */
export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.sqz': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
});

/**
 * True if `path` is `root` or inside it (both absolute).
 * @param {string} root
 * @param {string} path
 */
function isInside(root, path) {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} text
 * @param {Record<string, string>} [headers]
 */
function send(res, status, text, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} root the served directory, symlinks resolved
 */
async function respond(req, res, root) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, `405 Method Not Allowed: ${req.method}\n`, { allow: 'GET, HEAD' });
  const url = new URL(req.url ?? '/', 'http://localhost');
  let pathname;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, '400 Bad Request: malformed percent-encoding in the path\n');
  }
  if (pathname.includes('\0')) return send(res, 400, '400 Bad Request: NUL in the path\n');
  // `new URL` has removed plain dot segments already; this catches encoded ones (%2e%2e%2f) and backslashes.
  const segments = pathname.split(/[/\\]/);
  if (segments.includes('..')) return send(res, 403, '403 Forbidden: the path leaves the served directory\n');
  if (segments.some((s) => s.startsWith('.'))) return send(res, 404, `404 Not Found: ${pathname}\n`);
  let file = resolve(join(root, pathname));
  if (!isInside(root, file)) return send(res, 403, '403 Forbidden: the path leaves the served directory\n');

  let info;
  try {
    file = await realpath(file);
    info = await stat(file);
  } catch {
    return send(res, 404, `404 Not Found: ${pathname}\n`);
  }
  if (!isInside(root, file)) return send(res, 403, '403 Forbidden: the path leaves the served directory\n');
  if (info.isDirectory()) {
    // Relative URLs in index.html resolve against the directory only with the trailing slash.
    if (!url.pathname.endsWith('/')) return send(res, 301, 'Moved Permanently\n', { location: `${url.pathname}/${url.search}` });
    file = join(file, 'index.html');
    try {
      info = await stat(file);
    } catch {
      return send(res, 404, `404 Not Found: ${pathname} (a directory without index.html)\n`);
    }
  }
  if (!info.isFile()) return send(res, 404, `404 Not Found: ${pathname}\n`);

  res.writeHead(200, {
    'content-type': MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    'last-modified': info.mtime.toUTCString(),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') return res.end();
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * Starts serving `root` and resolves once the server listens.
 * @param {{ root?: string, port?: number, host?: string, log?: (line: string) => void }} [options]
 *   `port` 0 (the default) picks a free port; `host` defaults to 127.0.0.1 (this machine only).
 */
export async function startServer({ root = REPO_ROOT, port = 0, host = '127.0.0.1', log } = {}) {
  const realRoot = await realpath(resolve(root));
  const server = createServer((req, res) => {
    if (log) res.on('finish', () => log(`${res.statusCode} ${req.method} ${req.url}`));
    respond(req, res, realRoot).catch((error) => {
      if (!res.headersSent) send(res, 500, `500 Internal Server Error: ${error instanceof Error ? error.message : String(error)}\n`);
      else res.destroy();
    });
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen(undefined);
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    root: realRoot,
    port: boundPort,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise((resolveClose, reject) => {
        server.close((error) => (error ? reject(error) : resolveClose(undefined)));
        server.closeAllConnections();
      }),
  };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', short: 'p', default: process.env.PORT ?? '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node examples/browser/serve.mjs [--port 8080] [--host 127.0.0.1] [--quiet] [root]');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0..65535, got ${values.port}`);
  const root = positionals[0] ?? REPO_ROOT;
  const served = await startServer({ root, port, host: values.host, log: values.quiet ? undefined : (line) => console.log(line) });
  const example = fileURLToPath(new URL('./', import.meta.url));
  const page = isInside(served.root, example) ? `${served.url}/${relative(served.root, example).split(sep).join('/')}/` : `${served.url}/`;
  console.log(`Serving ${served.root} at ${served.url}/\nOpen ${page}\n(Ctrl-C to stop)`);
  const stop = () => void served.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(`serve.mjs: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
