/** Runs `work` over `items`, at most `limit` at a time, in order (containerd's download limiter). */
export async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const turns = new Turns(limit);
  await Promise.all(
    items.map(async (item) => {
      const giveBack = await turns.take();
      try {
        await work(item);
      } finally {
        giveBack();
      }
    }),
  );
}

/** Turns handed out first come, first served, at most `limit` held at once; a turn is given back by calling it. */
export class Turns {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = Math.max(1, limit);
  }

  take(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        let given = false;
        resolve(() => {
          if (given) return;
          given = true;
          const next = this.#waiting.shift();
          if (next !== undefined) next();
          else this.#free++;
        });
      };
      if (this.#free > 0) {
        this.#free--;
        grant();
      } else this.#waiting.push(grant);
    });
  }
}
