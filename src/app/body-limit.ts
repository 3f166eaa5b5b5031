/**
 * Request bodies a worker will take: none of its routes needs more than a few
 * kilobytes, so a declared body over the limit is refused with 413 before a
 * byte of it is read, and the connection is closed (the rest of the upload is
 * not worth reading). Chunked bodies without a length are only read by routes
 * that parse them, with their own limit; the server's request timeout bounds
 * any upload nobody reads.
 */
import type { NextFunction, Request, Response } from 'express';

/** 1 MiB: far above any body a lab route takes, far below what could hurt a worker. */
export const MAX_BODY_BYTES = 1_048_576;

export function bodyLimit(maxBytes = MAX_BODY_BYTES) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      res.set('Connection', 'close');
      res.status(413).json({ error: `request body too large: ${declared} bytes declared, the limit is ${maxBytes}` });
      return;
    }
    next();
  };
}
