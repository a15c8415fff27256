import { isKind } from "@berth/api";
import { normalizeReference, parseReference } from "@berth/remotes";
import { describe, expect, it } from "vitest";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseReference (ctr semantics)", () => {
  it.each([
    [
      "docker.io/library/alpine:latest",
      { hostname: "docker.io", repository: "library/alpine", locator: "docker.io/library/alpine", object: "latest", tag: "latest" },
    ],
    ["127.0.0.1:5000/busybox:1", { hostname: "127.0.0.1:5000", repository: "busybox", object: "1", tag: "1" }],
    [`docker.io/library/alpine@${digest}`, { repository: "library/alpine", object: `@${digest}`, digest }],
    [`docker.io/library/alpine:3@${digest}`, { object: `3@${digest}`, tag: "3", digest }],
    ["localhost/a/b/c", { hostname: "localhost", repository: "a/b/c", object: "" }],
    ["alpine", { hostname: "alpine", repository: "", locator: "alpine", object: "" }],
  ])("%s", (ref, expected) => {
    expect(parseReference(ref)).toMatchObject({ name: ref, ...expected });
  });

  it.each(["", "/library/alpine", "https://docker.io/alpine", "alpine:latest", "docker.io/a b"])("rejects %j as InvalidArgument naming it", (ref) => {
    let caught: unknown;
    try {
      parseReference(ref);
    } catch (error) {
      caught = error;
    }
    expect(isKind(caught, "InvalidArgument")).toBe(true);
    expect((caught as Error).message).toContain(JSON.stringify(ref));
  });

  it("keeps a non-digest after @ as part of the tag", () => {
    expect(parseReference("docker.io/x/y:tag@notadigest")).toMatchObject({ tag: "tag@notadigest" });
    expect(parseReference("docker.io/x/y:tag@notadigest").digest).toBeUndefined();
  });
});

describe("normalizeReference (docker semantics)", () => {
  it.each([
    ["alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.19", "docker.io/library/alpine:3.19"],
    ["foo/bar", "docker.io/foo/bar:latest"],
    [`foo/bar@${digest}`, `docker.io/foo/bar@${digest}`],
    [`foo/bar:tag@${digest}`, `docker.io/foo/bar@${digest}`],
    ["index.docker.io/library/alpine", "docker.io/library/alpine:latest"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["localhost/foo", "localhost/foo:latest"],
    ["localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1"],
    ["quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"],
    ["127.0.0.1:5000/a__b/c-d.e:x", "127.0.0.1:5000/a__b/c-d.e:x"],
  ])("%s → %s", (ref, expected) => {
    expect(normalizeReference(ref)).toBe(expected);
  });

  it.each(["Alpine", "docker.io/Foo/bar", "alpine:", "alpine:-bad", "a".repeat(64), `alpine@sha256:${"z".repeat(64)}`, "foo//bar", `x/${"a".repeat(260)}`, ""])(
    "rejects %j",
    (ref) => {
      expect(() => normalizeReference(ref)).toThrow(/invalid/);
      try {
        normalizeReference(ref);
      } catch (error) {
        expect(isKind(error, "InvalidArgument")).toBe(true);
      }
    },
  );
});
