/** A host as it goes into a URL: IPv6 literals in brackets (`::1` -> `[::1]`), everything else unchanged. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** True for the loopback addresses and localhost (IPv6 in brackets too: `[::1]`, as a URL's hostname gives it). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
