/** A failed system call as Go prints it (`open /x: no such file or directory`), which containerd's messages carry. */
export function goPathError(op: string, path: string, error: unknown): string {
  const message = (error as Error).message;
  // Node's text is `ENOENT: no such file or directory, stat '/x'`: the middle part is strerror's.
  const description = /^[A-Z0-9]+: (.*?), /.exec(message)?.[1] ?? message;
  return `${op} ${path}: ${description}`;
}
