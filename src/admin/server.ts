/**
 * The lab's admin port: GET /metrics in Prometheus text format from the lab's
 * own registry, on the loopback interface only (whatever --host says).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { AutoscaleError } from '../errors.js';

export const ADMIN_HOST = '127.0.0.1';

export class AdminServer {
  readonly #server: Server;
  #port = 0;

  constructor(registry: Registry) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(path === '/metrics' ? 'GET only\n' : 'not found: the lab serves only /metrics here\n');
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`metrics failed: ${err.message}\n`);
        },
      );
    });
  }

  get url(): string {
    return `http://${ADMIN_HOST}:${this.#port}/metrics`;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.#server;
      server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new AutoscaleError('AS_ERR_PORT_IN_USE', `metrics port ${ADMIN_HOST}:${port} is already in use (pick another with --metrics-port, or 0 to turn metrics off)`) : err));
      server.listen({ host: ADMIN_HOST, port }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        this.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
