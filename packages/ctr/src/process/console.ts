/** The terminal ctr runs in, for `-t` (containerd's console.Current). */
export class Console {
  private constructor(private readonly input: NodeJS.ReadStream) {}

  /** This process's terminal; an error, as ctr's, when stdin is not one. */
  static current(): Console {
    if (!process.stdin.isTTY) throw new Error("provided file is not a console");
    return new Console(process.stdin);
  }

  setRaw(): void {
    this.input.setRawMode(true);
  }

  reset(): void {
    this.input.setRawMode(false);
  }

  size(): { width: number; height: number } {
    return { width: process.stdout.columns ?? 80, height: process.stdout.rows ?? 24 };
  }

  /** Calls `resized` now and whenever the terminal changes size; returns how to stop. */
  watchSize(resized: (size: { width: number; height: number }) => void): () => void {
    const listener = () => resized(this.size());
    listener();
    process.stdout.on("resize", listener);
    return () => process.stdout.off("resize", listener);
  }
}
