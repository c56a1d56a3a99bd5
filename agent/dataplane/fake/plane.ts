// An in-memory data plane for scheduler and agent tests (after Ligato's MockSouthbound): it
// holds items, records every operation, fails operations on plan, and notes ordering
// violations a real data plane would reject (an item applied before what it depends on;
// driver.ts danglingDependencies() finds items left without theirs). Optionally persisted to a JSON file, so an agent
// process restarted on the same file finds its data plane as it left it.
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../../lib/atomic-file.ts';
import { DataPlaneError } from '../../scheduler/errors.ts';

export type FakeOperation = 'create' | 'update' | 'delete' | 'retrieve';

export interface FailurePlan {
  /** Which keys: exact key, or a predicate. All keys when absent. */
  key?: string | ((key: string) => boolean);
  operation?: FakeOperation;
  /** How many matching operations fail; Infinity for all. Default 1. */
  times?: number;
  retriable?: boolean;
  message?: string;
}

export interface FakeEntry {
  value: unknown;
  metadata: unknown;
  origin: 'netloom' | 'external';
}

export interface HistoryEntry {
  operation: FakeOperation;
  key: string;
  ok: boolean;
}

interface Plan extends Required<Omit<FailurePlan, 'key'>> {
  key: FailurePlan['key'];
}

export class FakeDataPlane {
  readonly entries = new Map<string, FakeEntry>();
  readonly history: HistoryEntry[] = [];
  readonly violations: string[] = [];
  readonly counts: Record<FakeOperation, number> = { create: 0, update: 0, delete: 0, retrieve: 0 };
  /** Keep the history (turn off for large benchmarks). */
  recordHistory = true;
  private plans: Plan[] = [];
  private nextId = 1;
  private readonly file: string | undefined;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(opts: { file?: string } = {}) {
    this.file = opts.file;
    if (this.file) this.load(this.file);
  }

  /** Plans failures; the first matching plan with times left fails the operation. */
  fail(plan: FailurePlan): void {
    this.plans.push({
      key: plan.key,
      operation: plan.operation ?? 'create',
      times: plan.times ?? 1,
      retriable: plan.retriable ?? true,
      message: plan.message ?? 'injected failure',
    });
  }

  clearFailures(): void {
    this.plans = [];
  }

  /** Checks the plan and counts the operation; throws the planned failure. */
  begin(operation: FakeOperation, key: string): void {
    this.counts[operation]++;
    const plan = this.plans.find((p) => p.times > 0 && p.operation === operation && matches(p.key, key));
    if (plan) {
      plan.times--;
      this.note(operation, key, false);
      throw new DataPlaneError(`${operation} ${key}: ${plan.message}`, { retriable: plan.retriable });
    }
  }

  note(operation: FakeOperation, key: string, ok: boolean): void {
    if (this.recordHistory) this.history.push({ operation, key, ok });
  }

  newId(): number {
    return this.nextId++;
  }

  set(key: string, entry: FakeEntry): void {
    this.entries.set(key, entry);
    this.scheduleSave();
  }

  remove(key: string): void {
    this.entries.delete(key);
    this.scheduleSave();
  }

  /** The data plane's content, sorted by key (values only). */
  dump(): Record<string, unknown> {
    return Object.fromEntries([...this.entries.keys()].sort().map((k) => [k, this.entries.get(k)!.value]));
  }

  /** Mutations (create, update, delete) since the counters were last reset. */
  changes(): number {
    return this.counts.create + this.counts.update + this.counts.delete;
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counts) as FakeOperation[]) this.counts[k] = 0;
    this.history.length = 0;
  }

  /** Writes the file now (persisted planes). */
  flush(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file) return;
    const data = { nextId: this.nextId, entries: Object.fromEntries(this.entries) };
    writeFileAtomicSync(this.file, JSON.stringify(data));
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flush(), 50);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return; // a fresh data plane
    }
    const data = JSON.parse(text) as { nextId: number; entries: Record<string, FakeEntry> };
    this.nextId = data.nextId;
    for (const [k, v] of Object.entries(data.entries)) this.entries.set(k, v);
  }
}

function matches(key: FailurePlan['key'], candidate: string): boolean {
  if (key === undefined) return true;
  return typeof key === 'string' ? key === candidate : key(candidate);
}
