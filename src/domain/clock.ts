/** Time is injected everywhere: commands take a Clock, tests pass a FakeClock. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
  /**
   * True for a clock that follows real time (the host's): on a shared store it is corrected to
   * the database's time once per run. A simulated clock (FakeClock) is left exactly as it is.
   */
  readonly wall?: boolean;
}

export const systemClock: Clock = { now: () => Date.now(), wall: true };

export class FakeClock implements Clock {
  constructor(private t: number = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
