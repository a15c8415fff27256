import { spawn } from "node:child_process";
import { connect } from "node:net";
import { Duplex } from "node:stream";

/**
 * A connection to `port` on localhost inside the pod's network namespace (the host's when
 * `netns` is empty): a small helper process entered into the namespace with nsenter carries the
 * bytes, since a Node thread cannot switch namespaces.
 */
export function dialInPod(netns: string, port: number): Duplex {
  if (netns === "") return connect(port, "127.0.0.1");
  const script = `const s=require("net").connect(${port},"127.0.0.1");process.stdin.pipe(s);s.pipe(process.stdout);s.on("error",e=>{process.stderr.write(e.message);process.exit(1)});s.on("end",()=>process.exit(0))`;
  const child = spawn("nsenter", [`--net=${netns}`, "--", process.execPath, "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  const duplex = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      child.stdin.write(chunk, callback);
    },
    final(callback) {
      child.stdin.end(callback);
    },
    destroy(error, callback) {
      child.kill();
      callback(error);
    },
  });
  child.stdout.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  child.stdout.on("end", () => duplex.push(null));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.on("close", (code) => {
    if (code !== 0 && code !== null) duplex.destroy(new Error(stderr || `port forward helper exited ${code}`));
  });
  child.on("error", (error) => duplex.destroy(error));
  child.stdin.on("error", () => undefined);
  return duplex;
}
