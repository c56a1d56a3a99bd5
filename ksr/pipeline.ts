// The syncer's transactions in flight: up to `concurrency` at once, the next starting as soon as
// one lands, while the syncer plans more. Waiting for a whole flush before planning the next
// left etcd idle behind the slowest transaction of each flush, and made a change that arrived
// during a flush wait for all of it (event → etcd latency twice a round trip).
// After the first failure nothing new starts: queued batches are released unwritten, and the
// failure is handed out once every transaction in flight has settled, so the resync that follows
// never races this writer's own writes.

export interface PipelineOptions<T> {
  /** Writes one batch (and records it as written); rejects if it did not land. */
  write: (batch: T[]) => Promise<void>;
  /** Hands back a batch that was not written (queued when a failure came, or the one that failed). */
  release: (batch: T[]) => void;
  /** Transactions in flight at most. */
  concurrency: number;
  /** Called whenever a batch settled: the syncer may plan more or handle a failure. */
  settled: () => void;
}

export class Pipeline<T> {
  private readonly o: PipelineOptions<T>;
  private readonly queue: T[][] = [];
  private running = 0;
  private failure: { err: unknown } | undefined;
  private idle: (() => void)[] = [];

  constructor(options: PipelineOptions<T>) {
    if (!(options.concurrency >= 1)) throw new RangeError(`concurrency must be at least 1`);
    this.o = options;
  }

  /** Batches waiting for a free slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Transactions in flight or waiting. */
  get busy(): boolean {
    return this.running > 0 || this.queue.length > 0;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Queues batches; they start as slots free up (at once while fewer than `concurrency` run). */
  add(batches: readonly T[][]): void {
    for (const batch of batches) {
      if (this.failure) this.o.release(batch);
      else this.queue.push(batch);
    }
    this.pump();
  }

  /** Resolves once nothing is in flight or queued. */
  async drain(): Promise<void> {
    if (!this.busy) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Drains, then throws the first failure (once; the pipeline is usable again after it). */
  async settle(): Promise<void> {
    await this.drain();
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure.err;
  }

  private pump(): void {
    while (this.running < this.o.concurrency && this.queue.length > 0 && !this.failure)
      void this.start(this.queue.shift()!);
  }

  private async start(batch: T[]): Promise<void> {
    this.running++;
    try {
      await this.o.write(batch);
    } catch (err) {
      this.failure ??= { err };
      this.o.release(batch);
      for (const queued of this.queue.splice(0)) this.o.release(queued);
    } finally {
      this.running--;
      this.pump();
      if (!this.busy) for (const resolve of this.idle.splice(0)) resolve();
      this.o.settled();
    }
  }
}
