/** The "what if" commands: export a policy to real engines, simulate it at scale, replay a recorded run under other policies. */
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { registerExportCommand } from '../export/command.js';
import { registerReplayCommand } from '../replay/command.js';
import { registerSimulateCommand } from '../simulate/command.js';

export function registerWhatIfCommands(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  registerExportCommand(program, io, setExitCode);
  registerSimulateCommand(program, io, setExitCode);
  registerReplayCommand(program, io, setExitCode);
}
