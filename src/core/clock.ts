/** A source of the current time, injected so tests can freeze and move it. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** A clock that stays where it is put; for tests and deterministic replays. */
export class ManualClock implements Clock {
  constructor(private current: number) {}

  /** The frozen time in milliseconds. */
  now(): number {
    return this.current;
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the clock to an absolute time. */
  set(ms: number): void {
    this.current = ms;
  }
}
