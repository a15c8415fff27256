import { type TestImage, mediaType } from "./images.js";

const manifestTypes = new Set<string>([mediaType.index, mediaType.manifest]);

/**
 * Pushes an image with plain registry v2 calls (monolithic uploads), children first; the root
 * is tagged. For registries that need no auth or basic auth.
 */
export async function pushTestImage(
  image: TestImage,
  target: { url: string; repository: string; tag: string; auth?: { user: string; password: string } },
): Promise<void> {
  const headers: Record<string, string> =
    target.auth === undefined ? {} : { authorization: `Basic ${Buffer.from(`${target.auth.user}:${target.auth.password}`).toString("base64")}` };
  const base = `${target.url}/v2/${target.repository}`;
  for (const descriptor of image.pushOrder) {
    const bytes = image.blobs.get(descriptor.digest)!;
    if (manifestTypes.has(descriptor.mediaType)) {
      const reference = descriptor.digest === image.manifest.digest ? target.tag : descriptor.digest;
      const put = await fetch(`${base}/manifests/${reference}`, { method: "PUT", headers: { ...headers, "content-type": descriptor.mediaType }, body: bytes });
      if (put.status !== 201) throw new Error(`PUT manifest ${reference}: ${put.status} ${await put.text()}`);
      await put.arrayBuffer();
      continue;
    }
    const start = await fetch(`${base}/blobs/uploads/`, { method: "POST", headers });
    await start.arrayBuffer();
    if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", target.url);
    location.searchParams.set("digest", descriptor.digest);
    const put = await fetch(location, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: bytes });
    if (put.status !== 201) throw new Error(`PUT blob ${descriptor.digest}: ${put.status} ${await put.text()}`);
    await put.arrayBuffer();
  }
}
