/**
 * The web console: a small node:http server next to the Kafka listener that serves the page
 * (bundled at build time into dist/src/console/ui, so nothing is fetched at run time) and the
 * read-only JSON API of api.ts under /api/.
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, clusterView, groupView, groupsView, recordsView, throughputView, topicView, topicsView, type ConsoleSources } from './api.js';

const UI_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ui');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
// The page may load only what this server serves: it must work with no network.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new ApiError(400, `query parameter ${name} must be a whole number, got '${v}'`);
  return Number(v);
}

function route(src: ConsoleSources, url: URL): unknown {
  const parts = url.pathname.split('/').filter((x) => x !== '').map(decodeURIComponent);
  // parts[0] === 'api'
  const [, what, id, sub, p, leaf] = parts;
  if (what === 'cluster' && parts.length === 2) return clusterView(src);
  if (what === 'settings' && parts.length === 2) return { settings: src.settings };
  if (what === 'throughput' && parts.length === 2) return throughputView(src);
  if (what === 'topics' && parts.length === 2) return { topics: topicsView(src, url.searchParams.get('internal') === 'true') };
  if (what === 'topics' && id !== undefined && parts.length === 3) return topicView(src.sluice, src.cluster, id);
  if (what === 'topics' && id !== undefined && sub === 'partitions' && p !== undefined && leaf === 'records' && parts.length === 6) {
    if (!/^\d+$/.test(p)) throw new ApiError(400, `partition must be a whole number, got '${p}'`);
    return recordsView(src.sluice, src.cluster, id, Number(p), { offset: intParam(url, 'offset'), timestamp: intParam(url, 'timestamp'), limit: intParam(url, 'limit') });
  }
  if (what === 'groups' && parts.length === 2) return { groups: groupsView(src) };
  if (what === 'groups' && id !== undefined && parts.length === 3) return groupView(src, id);
  throw new ApiError(404, `no API at ${url.pathname}: try /api/cluster, /api/topics, /api/groups, /api/throughput or /api/settings`);
}

function serveFile(res: http.ServerResponse, name: string): void {
  const file = path.join(UI_DIR, name);
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`console file ${name} is missing: run \`npm run build\` (it bundles the console into ${UI_DIR})\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'cache-control': 'no-cache' }).end(data);
  });
}

export function createConsoleServer(src: ConsoleSources): http.Server {
  return http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request URL\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('the console is read-only: GET only\n');
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      let status = 200;
      let body: unknown;
      try {
        body = route(src, url);
      } catch (err) {
        status = err instanceof ApiError ? err.status : err instanceof URIError ? 400 : 500;
        body = { error: err instanceof Error ? err.message : String(err) };
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') return serveFile(res, 'index.html');
    if (/^\/[a-z0-9-]+\.(js|css|svg)$/.test(url.pathname)) return serveFile(res, url.pathname.slice(1));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the console is at /\n');
  });
}

/** Binds the console; the error names the flag to change when the port is taken. */
export function listenConsole(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve the web console on ${host}:${port}: ${err.message} (choose another --console-port, or 0 to turn the console off)`)));
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}
