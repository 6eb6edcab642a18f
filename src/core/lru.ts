/**
 * A least-recently-used cache: a Map iterates in insertion order, and every hit re-inserts.
 * `drop` sees each value that leaves it (evicted or deleted), to free what it holds.
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    private readonly drop: (value: V) => void = () => {},
  ) {}

  /** The cached value, or `make()`'s, which then evicts the least recently used beyond capacity. */
  get(key: K, make: () => V): V {
    const value = this.entries.has(key) ? this.entries.get(key)! : make();
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) this.delete(this.entries.keys().next().value!);
    return value;
  }

  delete(key: K): void {
    if (!this.entries.has(key)) return;
    const value = this.entries.get(key)!;
    this.entries.delete(key);
    this.drop(value);
  }
}
