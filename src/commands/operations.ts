/**
 * What `autoscale start` opens next to the lab for operating it: the control
 * socket in the run directory and the Prometheus admin port. Closed after the
 * lab stopped (so `autoscale stop` gets its final answer first).
 */
import type { CliIO } from '../cli-io.js';
import { openControl } from '../control/attach.js';
import type { LabConfig } from '../lab/config.js';
import type { Lab } from '../lab/lab.js';

export interface Operations {
  close(): Promise<void>;
}

export async function openOperations(lab: Lab, _config: LabConfig, _io: CliIO): Promise<Operations> {
  const control = await openControl(lab);
  return {
    close: async () => {
      await control.close();
    },
  };
}
