import { execFileSync } from "node:child_process";
import { closeSync, fstatSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { type Socket, createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SyscallError, lgetxattrs, llistxattr, lsetxattr, mkfifo, mknod, peerCredentialsOfFd, receiveDescriptor } from "@berth/libc";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-test-libc-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fdOf = (socket: Socket) => (socket as unknown as { _handle: { fd: number } })._handle.fd;

describe("@berth/libc", () => {
  it("mkfifo makes a FIFO with the mode asked, and EEXIST names the path", () => {
    const path = join(dir, "fifo");
    mkfifo(path, 0o600);
    const stat = lstatSync(path);
    expect(stat.isFIFO()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600 & ~process.umask());
    let thrown: unknown;
    try {
      mkfifo(path);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SyscallError);
    expect(thrown).toMatchObject({ code: "EEXIST", errno: 17, syscall: "mkfifo", path });
    expect((thrown as Error).message).toBe(`mkfifo ${JSON.stringify(path)}: EEXIST`);
  });

  it("mknod makes a FIFO from its type bits; ENOENT for a missing directory", () => {
    const S_IFIFO = 0o010000;
    mknod(join(dir, "node"), S_IFIFO | 0o600);
    expect(lstatSync(join(dir, "node")).isFIFO()).toBe(true);
    expect(() => mknod(join(dir, "missing", "node"), S_IFIFO | 0o600)).toThrow(expect.objectContaining({ code: "ENOENT", syscall: "mknod" }));
  });

  it("sets and reads back extended attributes, not following symlinks", () => {
    const file = join(dir, "file");
    writeFileSync(file, "");
    try {
      lsetxattr(file, "user.berth", Buffer.from([0, 1, 2, 255]));
    } catch (error) {
      // tmpfs before Linux 6.6 refuses user.* attributes: then the refusal is what must be typed.
      expect(error).toMatchObject({ code: expect.stringMatching(/^(ENOTSUP|EOPNOTSUPP|EPERM)$/), syscall: "lsetxattr" });
      return;
    }
    lsetxattr(file, "user.empty", new Uint8Array());
    expect(llistxattr(file).sort()).toEqual(["user.berth", "user.empty"]);
    expect(lgetxattrs(file)).toEqual(
      new Map([
        ["user.berth", Buffer.from([0, 1, 2, 255])],
        ["user.empty", Buffer.alloc(0)],
      ]),
    );
  });

  it("reads SO_PEERCRED of a connected unix socket: this process at both ends", async () => {
    const path = join(dir, "peer.sock");
    let connected: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => (connected = resolve));
    const server = createServer((socket) => connected(socket));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const client = createConnection(path);
    try {
      await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject));
      const serverSide = await accepted;
      const expected = { pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() };
      expect(peerCredentialsOfFd(fdOf(serverSide))).toEqual(expected);
      expect(peerCredentialsOfFd(fdOf(client))).toEqual(expected);
      serverSide.destroy();
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("SO_PEERCRED of a descriptor that is not open fails with EBADF", () => {
    expect(() => peerCredentialsOfFd(1_000_000)).toThrow(expect.objectContaining({ code: "EBADF", syscall: "getsockopt(SO_PEERCRED)" }));
  });

  it("receives a descriptor another process sent with SCM_RIGHTS, and says when none came", async () => {
    const path = join(dir, "passing.sock");
    const marker = join(dir, "marker");
    writeFileSync(marker, "passed");
    const connections: Socket[] = [];
    // Paused: Node must not read the message before recvmsg does.
    const server = createServer({ pauseOnConnect: true }, (socket) => connections.push(socket));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    // Python's socket.send_fds: a sender independent of the code under test. The kernel queues
    // the connection and its message before Node accepts it.
    const send = (withDescriptor: boolean) => {
      const message = withDescriptor ? "f = open(sys.argv[2]); socket.send_fds(s, [b'x'], [f.fileno()])" : "s.sendall(b'x')";
      execFileSync("python3", ["-c", `import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ${message}; s.close()`, path, marker]);
    };
    const accepted = async (count: number) => {
      while (connections.length < count) await new Promise((resolve) => setImmediate(resolve));
      return connections[count - 1]!;
    };
    try {
      send(true);
      const received = receiveDescriptor(fdOf(await accepted(1)));
      try {
        expect(fstatSync(received).ino).toBe(statSync(marker).ino);
      } finally {
        closeSync(received);
      }
      send(false);
      const plain = await accepted(2);
      expect(() => receiveDescriptor(fdOf(plain))).toThrow(/no descriptor received/);
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
