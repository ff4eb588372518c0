import { SingleBar, Presets } from 'cli-progress';
import { HoldfastError, isHoldfastError } from '../core/errors.js';

/** Prints a value as JSON (for `--json`) or as text. */
export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

/** A progress callback whose bar can be stopped early (a bar left running keeps the process alive). */
export type ProgressBar = ((done: number, total: number) => void) & { stop(): void };

/**
 * A progress bar on stderr for long work; silent when stderr is not a terminal or the work is
 * short. Call `stop()` when the work ends early (a failure, a broken record): the bar's timer
 * would otherwise keep the process from exiting.
 */
export function progressBar(label: string, minTotal = 1000): ProgressBar {
  let bar: SingleBar | null = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    bar?.stop();
  };
  const update = (done: number, total: number) => {
    if (stopped || total < minTotal) return;
    if (bar === null) {
      bar = new SingleBar(
        {
          format: `${label} [{bar}] {percentage}% {value}/{total}`,
          stream: process.stderr,
          noTTYOutput: true,
          notTTYSchedule: 1000,
        },
        Presets.shades_classic,
      );
      bar.start(total, 0);
    }
    bar.update(done);
    if (done >= total) stop();
  };
  return Object.assign(update, { stop });
}

/** Prints an error with its code on stderr and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const error = isHoldfastError(err)
    ? err
    : new HoldfastError('INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
  if (json)
    process.stderr.write(JSON.stringify({ error: { code: error.code, message: error.message } }) + '\n');
  else process.stderr.write(`error ${error.code}: ${error.message}\n`);
  return error.code === 'AUDIT_CHAIN_BROKEN' ? 3 : 1;
}
