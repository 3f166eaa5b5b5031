/**
 * Opens a running lab's control socket: every request goes to `lab.command`
 * (the one path the dashboard keys use too), answered on the same connection.
 */
import type { CommandResult, LabCommand } from './operator.js';
import type { CommandSource } from '../events.js';
import { ControlServer, type ResultReply } from './server.js';

export interface Commandable {
  readonly runDir: string;
  command(cmd: LabCommand, source: CommandSource, progress?: (message: string) => void): Promise<CommandResult>;
  readonly operator: { badMessage(message: string): void };
}

export function openControl(lab: Commandable): Promise<ControlServer> {
  return ControlServer.listen(lab.runDir, {
    handle: async (request, progress): Promise<ResultReply> => {
      const r = await lab.command(request, 'control socket', progress);
      return r.ok ? { type: 'result', ok: true, message: r.message, data: r.data } : { type: 'result', ok: false, code: r.code ?? 'AS_ERR_CONTROL_REFUSED', message: r.message };
    },
    onBadMessage: (message) => lab.operator.badMessage(message),
  });
}
