/** Runs tasks one at a time, in call order; a failed task does not stop the ones after it. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/** One `Serial` per key, dropped when idle: read-modify-write of one blob's labels, in this process. */
export class KeyedSerial {
  readonly #queues = new Map<string, { serial: Serial; pending: number }>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let entry = this.#queues.get(key);
    if (entry === undefined) {
      entry = { serial: new Serial(), pending: 0 };
      this.#queues.set(key, entry);
    }
    entry.pending++;
    try {
      return await entry.serial.run(task);
    } finally {
      if (--entry.pending === 0) this.#queues.delete(key);
    }
  }
}
