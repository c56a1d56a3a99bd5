// A bounded single-consumer queue offered as an async iterable: how the client hands out events
// and status changes. A slow consumer loses the oldest items (counted in `dropped`) instead of
// growing memory without bound; the producer never waits.
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private ended = false;
  private readonly capacity: number;
  dropped = 0;

  constructor(capacity = 10_000) {
    this.capacity = capacity;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: item, done: false });
      return;
    }
    if (this.items.length - this.head >= this.capacity) {
      this.head++;
      this.dropped++;
    }
    this.items.push(item);
  }

  /** Ends the stream: queued items are still delivered, then iteration stops. */
  end(): void {
    this.ended = true;
    if (this.waiter !== undefined) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++] as T;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
