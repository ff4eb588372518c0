import { SingleBar, Presets } from 'cli-progress';
import { HoldfastError, isHoldfastError } from '../core/errors.js';

/** Prints a value as JSON (for `--json`) or as text. */
export function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

/** A progress bar on stderr for long work; silent when stderr is not a terminal or the work is short. */
export function progressBar(label: string, minTotal = 1000): (done: number, total: number) => void {
  let bar: SingleBar | null = null;
  return (done, total) => {
    if (total < minTotal) return;
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
    if (done >= total) bar.stop();
  };
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
