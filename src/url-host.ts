/** A host as it goes into a URL: IPv6 literals in brackets (`::1` -> `[::1]`), everything else unchanged. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
