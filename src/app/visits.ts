/**
 * The visits API: the worker keeps no state of its own, every visit goes to
 * the shared store, so any worker can serve any request.
 *   POST /visits            {"page": "home"} (optional)  -> 201 {"total", "id", "worker"}
 *   GET  /visits?limit=20   -> {"total", "recent": [...]}
 *   GET  /visits/by-worker  -> {"total", "workers": [{"worker", "visits", "lastAt"}]}
 * A database that cannot be reached answers 503 with the reason, never a 500.
 */
import express from 'express';
import type { Request, Response } from 'express';
import type { VisitStore } from '../store/store.js';
import { onlyQuery } from './http-input.js';
import { cleanUserAgent, MAX_VISIT_BODY_BYTES, parseRecentLimit, parseVisitBody } from './visit-input.js';

/** What the routes need to know about the worker serving them. */
export interface VisitWorker {
  readonly id: number;
  readonly port: number;
  /** Called after each acknowledged (committed) visit with the total it returned. */
  visitRecorded(total: number): void;
}

export function visitRoutes(store: VisitStore, worker: VisitWorker): express.Router {
  const router = express.Router();
  // Any content type is read as JSON: `curl -d '{"page":"a"}'` sends form encoding but means JSON.
  const body = express.raw({ type: () => true, limit: MAX_VISIT_BODY_BYTES });

  router.post('/visits', body, async (req: Request, res: Response) => {
    onlyQuery(req.query, [], 'POST /visits');
    const { page } = parseVisitBody(Buffer.isBuffer(req.body) ? req.body : undefined);
    const { id, total } = await store.record({
      at: new Date(),
      page,
      workerId: worker.id,
      workerPort: worker.port,
      workerPid: process.pid,
      userAgent: cleanUserAgent(req.get('user-agent')),
    });
    worker.visitRecorded(total);
    res.status(201).json({ total, id, worker: worker.id });
  });

  router.get('/visits', async (req: Request, res: Response) => {
    onlyQuery(req.query, ['limit'], 'GET /visits');
    const limit = parseRecentLimit(req.query.limit);
    const { total, recent } = await store.recent(limit);
    res.json({ total, limit, recent });
  });

  router.get('/visits/by-worker', async (req: Request, res: Response) => {
    onlyQuery(req.query, [], 'GET /visits/by-worker');
    res.json(await store.byWorker());
  });

  return router;
}
