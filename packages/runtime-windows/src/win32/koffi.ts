import { type ErrorKind, errorOfKind } from "@berth/api";
import koffi from "koffi";

/**
 * The only module that loads koffi and the Windows DLLs, each function bound once, on first use.
 * Every binding is one call; an HRESULT or Win32 error becomes a BerthError of the matching kind.
 */
type Library = ReturnType<typeof koffi.load>;
const libraries = new Map<string, Library>();

export function library(name: string): Library {
  let loaded = libraries.get(name);
  if (loaded === undefined) {
    loaded = koffi.load(name);
    libraries.set(name, loaded);
  }
  return loaded;
}

export { koffi };

// HRESULT_FROM_WIN32 codes (0x8007xxxx) and the Win32 codes under them.
const kindByWin32: ReadonlyMap<number, ErrorKind> = new Map([
  [2, "NotFound"], // ERROR_FILE_NOT_FOUND
  [3, "NotFound"], // ERROR_PATH_NOT_FOUND
  [5, "FailedPrecondition"], // ERROR_ACCESS_DENIED
  [32, "FailedPrecondition"], // ERROR_SHARING_VIOLATION
  [87, "InvalidArgument"], // ERROR_INVALID_PARAMETER
  [50, "NotImplemented"], // ERROR_NOT_SUPPORTED
  [183, "AlreadyExists"], // ERROR_ALREADY_EXISTS
  [1314, "FailedPrecondition"], // ERROR_PRIVILEGE_NOT_HELD
]);

/** The error kind of an HRESULT: Win32 codes by the table, anything else Unknown. */
export function kindOfHresult(hresult: number): ErrorKind {
  const code = hresult >>> 0;
  const win32 = (code & 0xffff0000) === 0x80070000 ? code & 0xffff : code;
  return kindByWin32.get(win32) ?? "Unknown";
}

/** Throws unless `hresult` is S_OK (or any success code). */
export function checkHresult(call: string, hresult: number): void {
  if (hresult >= 0) return;
  throw errorOfKind(kindOfHresult(hresult), `${call}: HRESULT 0x${(hresult >>> 0).toString(16).padStart(8, "0")}`);
}

/** Throws with GetLastError's kind when a BOOL-returning call failed. */
export function checkBool(call: string, ok: boolean | number, lastError: () => number): void {
  if (ok) return;
  const code = lastError();
  throw errorOfKind(kindByWin32.get(code) ?? "Unknown", `${call}: Win32 error ${code}`);
}
