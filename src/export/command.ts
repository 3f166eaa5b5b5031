/** `autoscale export <kubernetes|keda|aws>`: the thin I/O edge around the pure exporters. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { addSettingOptions, typedSettings } from '../settings/flags.js';
import { UsageError } from '../errors.js';
import { resolveConfig } from '../settings/config.js';
import { EXPORT_DEFAULTS, EXPORT_TARGETS, parseExportOptions, parseTarget, type RawExportOptions } from './workload.js';

export function registerExportCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  const cmd = program
    .command('export')
    .argument('<target>', EXPORT_TARGETS.join(' | '))
    .summary('write the lab policy as Kubernetes, KEDA or AWS Auto Scaling configuration')
    .description(
      "Write the lab's policy (the same flags or --config as `start`) as the real engine's configuration:\n" +
        '  kubernetes  Deployment + Service + autoscaling/v2 HorizontalPodAutoscaler (YAML)\n' +
        '  keda        Deployment + Service + KEDA ScaledObject (YAML; with --min 0 an HTTP add-on HTTPScaledObject too)\n' +
        '  aws         CreateAutoScalingGroup, PutScalingPolicy and PutMetricAlarm inputs (JSON)\n' +
        'Settings without an equivalent are explained in comments (Notes for aws), never dropped silently.',
    );
  addSettingOptions(cmd)
    .option('--image <image>', `container image of the worker, built from the repository's Dockerfile (default ${EXPORT_DEFAULTS.image}; docs/export.md)`)
    .option('--name <name>', `name of the Deployment, Service, autoscaler or group (default ${EXPORT_DEFAULTS.name})`)
    .option('--namespace <ns>', `Kubernetes namespace (default ${EXPORT_DEFAULTS.namespace})`)
    .option('--container-port <port>', `port the worker listens on in the container (default ${EXPORT_DEFAULTS.containerPort})`)
    .option('--cpu-request <cpu>', `CPU request per pod (500m, 0.5, 1); utilisation targets are % of it (default ${EXPORT_DEFAULTS.cpuRequest} = one core, the lab's unit)`)
    .option('--prometheus-url <url>', `keda: Prometheus server for rps/concurrency/p95 triggers (default ${EXPORT_DEFAULTS.prometheusUrl})`)
    .option('--launch-template <name>', 'aws: launch template name (placeholder otherwise)')
    .option('--subnets <ids>', 'aws: comma-separated subnet ids (placeholder otherwise)')
    .option('--target-group-arn <arn>', 'aws: ALB target group ARN (placeholder otherwise)')
    .option('--postgres', 'kubernetes, keda: also write a one-instance PostgreSQL and the Secret the workers read DATABASE_URL from')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    // Loaded on demand: the exporters and the yaml library are not needed by the other commands.
    .action(async (rawTarget: string, opts: Record<string, unknown>, command: Command) => {
      const target = parseTarget(rawTarget);
      const { flags, file } = typedSettings(opts, command);
      const config = resolveConfig(flags, file, { maxInstances: 100_000, ports: false });
      if (config.policy === 'predictive') {
        // AWS's PredictiveScaling learns from CloudWatch's own history, KEDA and the HPA have none: nothing to write the lab's profile into.
        throw new UsageError('export has no mapping for --policy predictive (its forecast is learned from this lab\'s --history); export --policy target, the rule it runs under its forecast, and see docs/forecasts.md');
      }
      const exportOpts = parseExportOptions(target, opts as RawExportOptions);
      const { exportText } = await import('./export.js');
      const text = exportText(target, config, exportOpts);
      if (typeof opts.out === 'string') {
        try {
          writeFileSync(opts.out, text);
        } catch (err) {
          throw new UsageError(`cannot write --out file "${opts.out}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      } else {
        io.stdout.write(text);
      }
      setExitCode(0);
    });
}
