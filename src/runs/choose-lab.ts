/**
 * Choosing one of the running labs (the registry in paths.ts) for a command
 * that acts on one: the control commands and `load --record`. Pure. With two
 * or more labs running and none named, nothing is guessed: the refusal lists
 * them, one line per lab (exit 2).
 */
import { basename, resolve } from 'node:path';
import { AutoscaleError } from '../errors.js';
import type { LabEntry } from './paths.js';

/** The --lab flag's help, shared by the control commands and `load --record`. */
export const LAB_HELP = 'which running lab: its balancer port (e.g. 8000) or its run (directory name or path); needed when two or more labs run';

const noLab = () => new AutoscaleError('AS_ERR_NO_LAB', 'no lab is running (start one with autoscale start)', { exitCode: 1 });

export type Choice = { ok: true; lab: LabEntry } | { ok: false; error: AutoscaleError };

/** The balancer port of a lab entry, or null (a lab still starting has none yet). */
export function labPort(lab: LabEntry): number | null {
  if (lab.balancerUrl === null) return null;
  try {
    const url = new URL(lab.balancerUrl);
    return url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  } catch {
    return null;
  }
}

/** One line per lab, as the refusal lists them: what to pass to --lab, its run, pid and run directory. */
export function describeLab(lab: LabEntry): string {
  const port = labPort(lab);
  return `  --lab ${port ?? basename(lab.runDir)}  ${lab.balancerUrl ?? '(starting)'}  pid ${lab.pid}  run ${lab.runDir}${lab.record ? '' : ' (not recorded)'}`;
}

function listing(labs: LabEntry[]): string {
  return labs.map(describeLab).join('\n');
}

/**
 * Pure: pick the lab `selector` names (a port number, a run directory's name
 * or path) among `labs`, or the only one when no selector is given. Refusals
 * are usage errors (exit 2) that list the running labs; no lab at all is
 * AS_ERR_NO_LAB (exit 1).
 */
export function chooseLab(labs: LabEntry[], selector: string | undefined): Choice {
  const running = labs.filter((l) => l.phase === 'running');
  if (selector === undefined) {
    if (running.length === 1) return { ok: true, lab: running[0] };
    if (running.length === 0) return { ok: false, error: noLab() };
    return {
      ok: false,
      error: new AutoscaleError('AS_ERR_WHICH_LAB', `${running.length} labs are running; name one with --lab <port or run>:\n${listing(running)}`, { exitCode: 2 }),
    };
  }
  const s = selector.trim();
  const matches = /^\d+$/.test(s)
    ? running.filter((l) => labPort(l) === Number(s))
    : running.filter((l) => basename(l.runDir) === s || resolve(l.runDir) === resolve(s));
  if (matches.length === 1) return { ok: true, lab: matches[0] };
  if (running.length === 0) return { ok: false, error: noLab() };
  const what = matches.length === 0 ? `no running lab matches --lab ${s}` : `--lab ${s} matches ${matches.length} labs`;
  return { ok: false, error: new AutoscaleError('AS_ERR_WHICH_LAB', `${what}; running ${running.length === 1 ? 'is' : 'are'}:\n${listing(running)}`, { exitCode: 2 }) };
}


/**
 * The lab `load --record` records into: the one --lab names; else the one
 * whose balancer the target URL points at; else the only running lab. Two or
 * more labs and nothing that tells them apart: refused with the list.
 */
export function chooseRecordLab(labs: LabEntry[], selector: string | undefined, target: URL | null): Choice {
  if (selector !== undefined || target === null) return chooseLab(labs, selector);
  const port = target.port === '' ? (target.protocol === 'https:' ? 443 : 80) : Number(target.port);
  const aimed = labs.filter((l) => l.phase === 'running' && labPort(l) === port);
  if (aimed.length === 1) return { ok: true, lab: aimed[0] };
  return chooseLab(labs, undefined);
}
