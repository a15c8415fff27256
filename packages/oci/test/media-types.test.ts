import { isForeignLayer, isIndex, isLayer, isManifest, layerCompression, mediaTypes } from "@berth/oci";
import { describe, expect, it } from "vitest";

describe("media types", () => {
  it.each([
    // containerd's images.DiffCompression
    ["application/vnd.oci.image.layer.v1.tar", "uncompressed"],
    ["application/vnd.oci.image.layer.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.v1.tar+zstd", "zstd"],
    ["application/vnd.oci.image.layer.v1.tar+gzip+encrypted", "gzip"],
    ["application/vnd.oci.image.layer.v1.tar+encrypted", "uncompressed"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar", "uncompressed"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
    ["application/vnd.docker.image.rootfs.diff.tar", "unknown"],
    ["application/vnd.docker.image.rootfs.diff.tar.gzip", "gzip"],
    ["application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted", "uncompressed"],
    ["application/vnd.docker.image.rootfs.foreign.diff.tar", "unknown"],
    ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "gzip"],
  ] as const)("%s is a layer compressed %s", (mediaType, compression) => {
    expect(layerCompression(mediaType)).toBe(compression);
    expect(isLayer(mediaType)).toBe(true);
  });

  it.each([mediaTypes.ociManifest, mediaTypes.ociIndex, mediaTypes.ociConfig, mediaTypes.dockerConfig, "application/octet-stream", ""])(
    "%j is no layer",
    (mediaType) => {
      expect(layerCompression(mediaType)).toBeUndefined();
      expect(isLayer(mediaType)).toBe(false);
    },
  );

  it("tells indexes, manifests and foreign layers", () => {
    expect([mediaTypes.ociIndex, mediaTypes.dockerManifestList, mediaTypes.ociManifest].map(isIndex)).toEqual([true, true, false]);
    expect([mediaTypes.ociManifest, mediaTypes.dockerManifest, mediaTypes.dockerSchema1Manifest, mediaTypes.ociIndex].map(isManifest)).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(
      [mediaTypes.dockerForeignLayerGzip, mediaTypes.ociNondistributableLayerZstd, mediaTypes.dockerLayerGzip, mediaTypes.ociLayer].map(isForeignLayer),
    ).toEqual([true, true, false, false]);
  });
});
