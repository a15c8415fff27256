import { describe, expect, it } from "vitest";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import { contentV1 } from "@berth/api/proto";
import { serializerOf } from "@berth/api/services";

const writeRequest = (data: Buffer, offset: number): contentV1.WriteContentRequest => ({
  action: contentV1.WriteAction.WRITE,
  ref: "layer-sha256:1",
  total: 0,
  expected: "",
  offset,
  data,
  labels: {},
});

describe("serializerOf (one kept writer per message type)", () => {
  it("encodes each message exactly as a fresh writer would, whatever came before", () => {
    const serialize = serializerOf(contentV1.WriteContentRequest);
    const messages = [
      writeRequest(Buffer.alloc(1 << 20, 1), 0),
      writeRequest(Buffer.from("small"), 1 << 20),
      writeRequest(Buffer.alloc(3 << 20, 2), 5),
      { ...writeRequest(Buffer.alloc(0), 0), action: contentV1.WriteAction.COMMIT, labels: { a: "b" } },
    ];
    const encoded = messages.map((message) => serialize(message));
    for (const [i, message] of messages.entries()) {
      expect(Buffer.isBuffer(encoded[i])).toBe(true);
      expect(Buffer.compare(encoded[i]!, Buffer.from(contentV1.WriteContentRequest.encode(message).finish()))).toBe(0);
      expect(contentV1.WriteContentRequest.decode(encoded[i]!)).toEqual(message);
    }
  });

  it("leaves nothing of an encode that threw in the next message", () => {
    let fail = true;
    const type = {
      encode(message: unknown, writer: BinaryWriter) {
        contentV1.WriteContentRequest.encode(message as contentV1.WriteContentRequest, writer);
        if (fail) throw new Error("cannot encode");
        return writer;
      },
      decode: contentV1.WriteContentRequest.decode,
    };
    const serialize = serializerOf(type);
    expect(() => serialize(writeRequest(Buffer.from("first"), 0))).toThrow("cannot encode");
    fail = false;
    const second = writeRequest(Buffer.from("second"), 7);
    expect(Buffer.compare(serialize(second), Buffer.from(contentV1.WriteContentRequest.encode(second).finish()))).toBe(0);
  });
});
