/**
 * `autoscale status|scale|pause|resume|refresh|stop`: steer a running lab from
 * a second terminal over its control socket. Exit 0 ok, 1 no lab or the lab
 * refused/failed, 2 usage error (also a scale outside min/max).
 */
import type { CliIO } from '../cli-io.js';
import { AutoscaleError, UsageError } from '../errors.js';
import { sendRequest } from '../control/client.js';
import { formatStatus } from '../control/format-status.js';
import { locateLab, type ListLabs } from '../control/locate.js';
import type { LabStatus } from '../control/operator.js';
import type { ControlRequest } from '../control/protocol.js';

export interface ControlOptions {
  runDir?: string;
  /** Which running lab: its balancer port or its run (name or directory). Needed when two or more labs run. */
  lab?: string;
  json?: boolean;
}

export async function runControl(request: ControlRequest, opts: ControlOptions, io: CliIO, listLabs: ListLabs): Promise<number> {
  const env = io.env ?? process.env;
  try {
    if (opts.runDir !== undefined && opts.lab !== undefined) throw new UsageError('give --lab or --run-dir, not both');
    const lab = await locateLab(opts, env, listLabs, (line) => io.stderr.write(`note: ${line}\n`));
    const reply = await sendRequest(lab.socket, request, (message) => io.stdout.write(`${message}\n`));
    if (!reply.ok) {
      io.stderr.write(`error: ${reply.message}\n`);
      return reply.code === 'AS_ERR_USAGE' ? 2 : 1;
    }
    if (request.cmd === 'status') {
      io.stdout.write(opts.json ? `${JSON.stringify(reply.data)}\n` : `${formatStatus(reply.data as LabStatus)}\n`);
    } else {
      io.stdout.write(`${reply.message}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
