/**
 * What `autoscale start` opens next to the lab for operating it: the control
 * socket in the run directory and the Prometheus admin port. Closed after the
 * lab stopped (so `autoscale stop` gets its final answer first).
 */
import { createLabMetrics, l7MetricsSource } from '../admin/metrics.js';
import { AdminServer } from '../admin/server.js';
import type { CliIO } from '../cli-io.js';
import { openControl } from '../control/attach.js';
import { AutoscaleError } from '../errors.js';
import { DEFAULTS, type LabConfig } from '../settings/config.js';
import type { Lab } from '../lab/lab.js';

export interface Operations {
  /** Path of the control socket (for the `current` pointer). */
  controlSocket: string;
  close(): Promise<void>;
}

export async function openOperations(lab: Lab, config: LabConfig, io: CliIO): Promise<Operations> {
  const admin = config.metricsPort === 0 ? null : await openMetrics(lab, config, io);
  let control;
  try {
    control = await openControl(lab);
  } catch (err) {
    await admin?.close();
    throw err;
  }
  return {
    controlSocket: control.path,
    close: async () => {
      await Promise.all([control.close(), admin?.close()]);
    },
  };
}

/**
 * The default port being taken (another lab, another exporter) only costs the
 * metrics, with a warning; a port the user chose must work or the start fails.
 */
async function openMetrics(lab: Lab, config: LabConfig, io: CliIO): Promise<AdminServer | null> {
  const admin = new AdminServer(
    createLabMetrics({
      events: lab.events,
      metric: config.metric,
      desired: () => lab.supervisor.desired,
      paused: () => lab.paused,
      workers: () => lab.workers(),
      l7: l7MetricsSource(lab.balancer),
      ...(config.alarms.length > 0 ? { alarms: () => lab.alarmStatus().map((a, i) => ({ ...a, metric: config.alarms[i].metric })) } : {}),
    }),
  );
  try {
    await admin.listen(config.metricsPort);
  } catch (err) {
    if (err instanceof AutoscaleError && err.code === 'AS_ERR_PORT_IN_USE' && config.metricsPort === DEFAULTS.metricsPort) {
      io.stderr.write(`warning: metrics port ${config.metricsPort} is in use, so the lab's /metrics is off (choose a port with --metrics-port, or 0 to silence this)\n`);
      return null;
    }
    throw err;
  }
  lab.metricsUrl = admin.url;
  return admin;
}
