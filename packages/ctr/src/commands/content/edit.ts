import { spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { CtrCommand, parseDigest } from "@berth/cli-kit";
// A static import of a name: a dynamic import of @berth/content would put its whole store into the chunk every reader of a blob loads.
import { digestOf } from "@berth/content";

/** Bytes per Write message, well under gRPC's message limit. */
const chunkSize = 1 << 20;

/** The editor exited non-zero: stock ctr says so alone and exits with the editor's status (urfave/cli's ExitCoder). */
class EditorExit extends Error {
  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}

export class ContentEdit extends CtrCommand {
  static override summary = "edit a blob and return a new digest";
  static override description =
    "Copies a blob to a temporary file, runs the editor on it (`sh -c '<editor> <file>'`, with ctr's standard streams), and writes the edited file as a new blob, printing its digest. An unchanged blob is an error (it exists already), as in stock ctr.";
  static override usage = "content edit [flags] <digest>";
  static override args = { digest: Args.string({ description: "digest of the blob" }) };
  static override flags = {
    validate: Flags.string({ description: "validate the result against a format (json, mediatype, etc.)" }),
    editor: Flags.string({ description: "select editor (vim, emacs, etc.)", env: "EDITOR" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContentEdit);
    if (flags.validate) throw new Error("validating the edit result not supported");
    const object = parseDigest(args.digest);
    const client = await this.connect(flags);
    const { withLease } = await import("@berth/client");
    const digest = await withLease(client, async (context) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of client.content.read(context, object)) chunks.push(chunk);
      const edited = await this.#edit(flags.editor ?? "", Buffer.concat(chunks));
      // As stock ctr: the writer is opened by ref alone, so an unchanged blob fails at commit.
      const writer = await client.content.writer(context, { ref: `edit-${object}` });
      try {
        await writer.truncate(0);
        for (let offset = 0; offset < edited.length; offset += chunkSize) await writer.write(edited.subarray(offset, offset + chunkSize), offset);
        await writer.commit(edited.length, digestOf(edited));
      } catch (error) {
        throw new Error(`commit failed: ${(error as Error).message}`);
      } finally {
        await writer.close().catch(() => undefined);
      }
      return digestOf(edited);
    });
    this.print(`${digest}\n`);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    if (!(error instanceof EditorExit)) return super.catch(error);
    process.stderr.write(`${error.message}\n`);
    process.exitCode = error.status;
  }

  /** The blob as the editor left it, in a file under $XDG_RUNTIME_DIR (else the temp dir) removed afterwards. */
  async #edit(editor: string, blob: Buffer): Promise<Buffer> {
    if (editor === "") throw new Error("editor is required");
    const file = join(process.env.XDG_RUNTIME_DIR || tmpdir(), `edit-${randomInt(1e9, 1e10)}`);
    await writeFile(file, blob, { mode: 0o600, flag: "wx" });
    try {
      const ran = spawnSync("sh", ["-c", `${editor} ${file}`], { stdio: "inherit" });
      if (ran.error) throw ran.error;
      if (ran.signal) throw new Error(`signal: ${ran.signal}`);
      if (ran.status !== 0) throw new EditorExit(ran.status ?? 1);
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }
}
