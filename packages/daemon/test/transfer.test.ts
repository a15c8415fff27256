import { type Any, kindOf } from "@berth/api";
import * as streamingV1 from "@berth/api/gen/containerd/services/streaming/v1/streaming";
import * as transferV1 from "@berth/api/gen/containerd/services/transfer/v1/transfer";
import * as transferTypes from "@berth/api/gen/containerd/types/transfer/transfer";
import { Client, hostPlatform, refKey, transferPull } from "@berth/client";
import {
  type RunningDaemon,
  type RunningRegistry,
  buildBusyboxImage,
  htpasswdSupported,
  pushTestImage,
  runCommand,
  startBerthd,
  startRegistry,
  stockContainerdInstalled,
  stockCtr,
} from "@berth/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const busybox = buildBusyboxImage();
const user = { user: "carol", password: "s3cret:pass" };
const canAuth = await htpasswdSupported();
const clients: Client[] = [];
let registry: RunningRegistry;
let privateRegistry: RunningRegistry | undefined;
let berthd: RunningDaemon;

beforeAll(async () => {
  registry = await startRegistry();
  if (canAuth) privateRegistry = await startRegistry({ htpasswd: user });
  berthd = await startBerthd();
  await pushTestImage(busybox, { url: registry.url, repository: "library/busybox", tag: "1" });
  if (privateRegistry) await pushTestImage(busybox, { url: privateRegistry.url, repository: "private/busybox", tag: "1", auth: user });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await berthd?.cleanup();
  await registry?.stop();
  await privateRegistry?.stop();
});

async function connect(namespace: string): Promise<Client> {
  const client = await Client.connect({ address: berthd.address, namespace });
  clients.push(client);
  return client;
}

const packed = <T>(name: string, type: { encode(message: T): { finish(): Uint8Array } }, message: T): Any => ({
  typeUrl: `containerd.types.transfer.${name}`,
  value: Buffer.from(type.encode(message).finish()),
});

const registrySource = (reference: string) =>
  packed("OCIRegistry", transferTypes.OCIRegistry, {
    reference,
    resolver: { authStream: "", headers: {}, hostDir: "", defaultScheme: "", httpDebug: 0, logsStream: "" },
  });

const imageStore = (name: string, snapshotter = "overlayfs") => {
  const platform = { os: hostPlatform().os, architecture: hostPlatform().architecture, variant: "" };
  return packed("ImageStore", transferTypes.ImageStore, {
    name,
    labels: { "test.label": "yes" },
    platforms: [platform],
    allMetadata: false,
    manifestLimit: 0,
    extraReferences: [],
    unpacks: [{ platform, snapshotter }],
  });
};

/** Opens a Streaming stream as ctr 2.0 does and collects its Progress frames until the daemon ends it. */
async function progressStream(client: Client, id: string): Promise<{ first: Any; frames: Promise<transferTypes.Progress[]> }> {
  const call = client.service(streamingV1.StreamingDefinition).stream();
  call.send({ typeUrl: "containerd.services.streaming.v1.StreamInit", value: Buffer.from(streamingV1.StreamInit.encode({ id }).finish()) });
  const iterator = call[Symbol.asyncIterator]();
  const first = await iterator.next();
  const frames = (async () => {
    const progress: transferTypes.Progress[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      expect(next.value.typeUrl).toBe("containerd.types.transfer.Progress");
      progress.push(transferTypes.Progress.decode(next.value.value));
    }
    return progress;
  })();
  return { first: first.value as Any, frames };
}

/** Nothing of a failed transfer stays: no image record, no lease. */
async function expectNothingWritten(client: Client, name: string): Promise<void> {
  expect((await client.images.list(client.context(), [])).map((image) => image.name)).not.toContain(name);
  expect(await client.leases.list(client.context(), [])).toEqual([]);
}

describe("berthd's Transfer and Streaming services", () => {
  it("pulls an image in the daemon, reporting containerd's progress frames on the progress stream", async () => {
    const client = await connect("transfer-progress");
    const ref = `${registry.host}/library/busybox:1`;
    const { first, frames } = await progressStream(client, "progress-1");
    expect(first).toEqual({ typeUrl: "google.protobuf.Empty", value: Buffer.alloc(0) });
    await client
      .service(transferV1.TransferDefinition)
      .transfer({ source: registrySource(ref), destination: imageStore("pulled:1"), options: { progressStream: "progress-1" } });
    const progress = await frames;
    const events = progress.map((p) => p.event);
    expect(events[0]).toBe(`Resolving from OCI Registry (${ref})`);
    expect(events).toContain(`Pulling from OCI Registry (${ref})`);
    expect(events.at(-2)).toBe("saved");
    expect(progress.at(-2)?.name).toBe("pulled:1");
    expect(events.at(-1)).toBe(`Completed pull from OCI Registry (${ref})`);
    const manifestKey = refKey(busybox.manifest);
    const layerKey = refKey(busybox.layers[0]!);
    expect(progress).toContainEqual(expect.objectContaining({ event: "waiting", name: manifestKey, parents: [ref], total: busybox.manifest.size }));
    expect(progress).toContainEqual(expect.objectContaining({ event: "waiting", name: layerKey, parents: [manifestKey], progress: 0 }));
    expect(progress).toContainEqual(
      expect.objectContaining({ event: "complete", name: layerKey, progress: busybox.layers[0]!.size, total: busybox.layers[0]!.size }),
    );

    // The image is recorded under the destination's name with its labels, and unpacked.
    const image = await client.images.get(client.context(), "pulled:1");
    expect(image.target.digest).toBe(busybox.manifest.digest);
    expect(image.labels).toEqual({ "test.label": "yes" });
    expect((await client.snapshotter("overlayfs").stat(client.context(), busybox.diffIds[0]!)).kind).toBe("committed");
    // The pull's lease is gone once it is done.
    expect(await client.leases.list(client.context(), [])).toEqual([]);
  });

  it.skipIf(!canAuth)("asks for credentials over the auth stream only when the registry challenges, and fails without them", async () => {
    const client = await connect("transfer-auth");
    const ref = `${privateRegistry!.host}/private/busybox:1`;
    const asked: string[] = [];
    await transferPull(client, ref, {
      platforms: [hostPlatform()],
      unpack: "overlayfs",
      credentials: (host) => {
        asked.push(host);
        return { username: user.user, password: user.password };
      },
    });
    expect(asked).toEqual([privateRegistry!.host]);
    expect((await client.images.get(client.context(), ref)).target.digest).toBe(busybox.manifest.digest);

    const anonymous = await connect("transfer-anonymous");
    const error = await transferPull(anonymous, ref, { platforms: [hostPlatform()], unpack: "overlayfs" }).catch((e: unknown) => e);
    expect(kindOf(error)).toBe("FailedPrecondition");
    expect((error as Error).message).toMatch(/unauthorized/);
    await expectNothingWritten(anonymous, ref);
  });

  it("fails a missing image with NotFound and leaves no image record or lease", async () => {
    const client = await connect("transfer-missing");
    const ref = `${registry.host}/library/busybox:absent`;
    const error = await transferPull(client, ref, { platforms: [hostPlatform()], unpack: "overlayfs" }).catch((e: unknown) => e);
    expect(kindOf(error)).toBe("NotFound");
    expect((error as Error).message).toMatch(/^failed to resolve image: .*busybox:absent.*: not found$/);
    await expectNothingWritten(client, ref);
  });

  it("refuses bad requests with containerd's error kinds before writing anything", async () => {
    const client = await connect("transfer-bad");
    const transfer = client.service(transferV1.TransferDefinition);
    const ref = `${registry.host}/library/busybox:1`;
    const kind = (request: transferV1.TransferRequest) => transfer.transfer(request).then(() => "none", kindOf);
    expect(await kind({ source: undefined, destination: imageStore("x"), options: undefined })).toBe("InvalidArgument");
    expect(await kind({ source: registrySource(ref), destination: undefined, options: undefined })).toBe("InvalidArgument");
    // A push (ImageStore → OCIRegistry) and types the daemon does not know are not implemented.
    expect(await kind({ source: imageStore("x"), destination: registrySource(ref), options: undefined })).toBe("NotImplemented");
    expect(await kind({ source: { typeUrl: "example.com/Unknown", value: Buffer.alloc(0) }, destination: imageStore("x"), options: undefined })).toBe(
      "NotImplemented",
    );
    expect(await kind({ source: registrySource(ref), destination: imageStore(""), options: undefined })).toBe("InvalidArgument");
    expect(await kind({ source: registrySource(ref), destination: imageStore("x", "nosuchfs"), options: undefined })).toBe("InvalidArgument");
    expect(await kind({ source: registrySource(ref), destination: imageStore("x"), options: { progressStream: "never-opened" } })).toBe("NotFound");
    expect(await kind({ source: registrySource("not a reference"), destination: imageStore("x"), options: undefined })).toBe("InvalidArgument");
    await expectNothingWritten(client, "x");
  });

  it.skipIf(!stockContainerdInstalled)("lists the transfer and streaming plugins as containerd 1.7 does", async () => {
    const listed = await runCommand(stockCtr!, ["--address", berthd.address, "plugins", "ls"]);
    expect(listed.code, listed.stderr).toBe(0);
    const rows: [string, string][] = [
      ["io.containerd.streaming.v1", "manager"],
      ["io.containerd.transfer.v1", "local"],
      ["io.containerd.grpc.v1", "streaming"],
      ["io.containerd.grpc.v1", "transfer"],
    ];
    for (const [type, id] of rows) expect(listed.stdout).toMatch(new RegExp(`^${type.replace(/\./g, "\\.")} +${id} +\\S+ +ok\\s*$`, "m"));
  });
});
