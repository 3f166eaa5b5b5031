/** The "what if" commands: export a policy to real engines (simulate and replay join here). */
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { registerExportCommand } from '../export/command.js';

export function registerWhatIfCommands(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  registerExportCommand(program, io, setExitCode);
}
