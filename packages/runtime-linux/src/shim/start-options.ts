import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** The type URLs under which the runc shim reads its options (`containerd.runc.v1.Options`). */
export const runcOptionTypes: ReadonlySet<string> = new Set(["containerd.runc.v1.Options", "io.containerd.runc.v1.Options", "io.containerd.runc.v2.Options"]);

/** google.protobuf.Any's fields, and containerd.runc.v1.Options' `shim_cgroup`. */
const anyTypeUrl = 1;
const anyValue = 2;
const optionsShimCgroup = 3;

/** The last value of length-delimited field `wanted` in a message (protobuf's "last one wins"). */
function lengthDelimited(message: Uint8Array, wanted: number): Uint8Array | undefined {
  const reader = new BinaryReader(message);
  let found: Uint8Array | undefined;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === wanted && wireType === WireType.LengthDelimited) found = reader.bytes();
    else reader.skip(wireType, field);
  }
  return found;
}

/**
 * The `shim_cgroup` of the runtime options `start` reads on stdin (an encoded Any), or "" when
 * there is none or the options are of another type. Read straight off the wire: `start` runs for
 * every task created, and the generated types would cost it some 60 ms to load.
 */
export function shimCgroupOf(options: Uint8Array): string {
  if (options.byteLength === 0) return "";
  const decoder = new TextDecoder();
  const typeUrl = decoder.decode(lengthDelimited(options, anyTypeUrl)).replace(/^type\.googleapis\.com\//, "");
  if (!runcOptionTypes.has(typeUrl)) return "";
  return decoder.decode(lengthDelimited(lengthDelimited(options, anyValue) ?? new Uint8Array(), optionsShimCgroup));
}
