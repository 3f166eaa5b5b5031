/** Binding a front end (the L7 and the L4 balancer share it). */
import type { AddressInfo, Server } from 'node:net';
import { PortInUseError } from '../errors.js';

/**
 * Listens on host:port and resolves with the bound port; EADDRINUSE becomes
 * AS_ERR_PORT_IN_USE. Once listening, the only server errors are failed
 * accepts (e.g. EMFILE): that one connection is lost and the server keeps
 * accepting, so it must not crash the daemon as an unhandled 'error'.
 */
export function listenFrontEnd(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(host, port, 'balancer port') : err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      server.on('error', () => {});
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}
