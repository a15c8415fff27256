import { checkBool, checkHresult, koffi, library } from "./koffi.js";

/**
 * kernel32, advapi32 and bindfltapi: the file, privilege and bind-filter calls Windows layers need.
 */
let bound: ReturnType<typeof bind> | undefined;

function bind() {
  const kernel32 = library("kernel32.dll");
  const advapi32 = library("advapi32.dll");
  const bindflt = library("bindfltapi.dll");
  koffi.pointer("berth_HANDLE", koffi.opaque("berth_handle"));
  return {
    GetLastError: kernel32.func("uint32 __stdcall GetLastError()"),
    CreateFileW: kernel32.func(
      "berth_HANDLE __stdcall CreateFileW(str16 name, uint32 access, uint32 share, void *security, uint32 disposition, uint32 flags, void *template)",
    ),
    CloseHandle: kernel32.func("bool __stdcall CloseHandle(berth_HANDLE handle)"),
    BackupWrite: kernel32.func(
      "bool __stdcall BackupWrite(berth_HANDLE file, uint8 *buffer, uint32 length, _Out_ uint32 *written, bool abort, bool security, _Inout_ void **context)",
    ),
    GetVolumeInformationW: kernel32.func(
      "bool __stdcall GetVolumeInformationW(str16 root, void *name, uint32 nameSize, void *serial, void *maxComponent, void *flags, _Out_ uint16 *fsName, uint32 fsNameSize)",
    ),
    GetVolumePathNameW: kernel32.func("bool __stdcall GetVolumePathNameW(str16 path, _Out_ uint16 *volume, uint32 length)"),
    OpenProcessToken: advapi32.func("bool __stdcall OpenProcessToken(void *process, uint32 access, _Out_ berth_HANDLE *token)"),
    GetCurrentProcess: kernel32.func("void * __stdcall GetCurrentProcess()"),
    LookupPrivilegeValueW: advapi32.func("bool __stdcall LookupPrivilegeValueW(str16 system, str16 name, _Out_ int64 *luid)"),
    AdjustTokenPrivileges: advapi32.func(
      "bool __stdcall AdjustTokenPrivileges(berth_HANDLE token, bool disableAll, uint8 *state, uint32 length, void *previous, void *returned)",
    ),
    BfSetupFilter: bindflt.func(
      "int32 __stdcall BfSetupFilter(void *job, uint32 flags, str16 virtualizationRoot, str16 virtualizationTarget, void *exceptions, uint32 exceptionCount)",
    ),
    BfRemoveMapping: bindflt.func("int32 __stdcall BfRemoveMapping(void *job, str16 virtualizationRoot)"),
  };
}

const api = () => (bound ??= bind());
const lastError = () => api().GetLastError();

const fileWrite = 0x40000000 | 0x00040000 | 0x00080000; // GENERIC_WRITE | WRITE_DAC | WRITE_OWNER
const createAlways = 2;
const backupSemantics = 0x02000000 | 0x00200000; // FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT

/** The filesystem name of the volume holding `path` ("NTFS", "ReFS", …). */
export function filesystemOf(path: string): string {
  const volume = new Uint16Array(261);
  checkBool("GetVolumePathNameW", api().GetVolumePathNameW(path, volume, volume.length), lastError);
  const fsName = new Uint16Array(261);
  const root = String.fromCharCode(...volume).replace(/\0.*$/, "");
  checkBool("GetVolumeInformationW", api().GetVolumeInformationW(root, null, 0, null, null, null, fsName, fsName.length), lastError);
  return String.fromCharCode(...fsName).replace(/\0.*$/, "");
}

/** Enables SeBackupPrivilege and SeRestorePrivilege for this process (BackupWrite of security data needs them). */
export function enableBackupPrivileges(): void {
  const token = [null];
  checkBool("OpenProcessToken", api().OpenProcessToken(api().GetCurrentProcess(), 0x20 | 0x8, token), lastError); // ADJUST_PRIVILEGES | QUERY
  try {
    for (const name of ["SeBackupPrivilege", "SeRestorePrivilege"]) {
      const luid = [0n];
      checkBool("LookupPrivilegeValueW", api().LookupPrivilegeValueW(null, name, luid), lastError);
      const state = Buffer.alloc(16); // TOKEN_PRIVILEGES with one LUID_AND_ATTRIBUTES
      state.writeUInt32LE(1, 0);
      state.writeBigInt64LE(BigInt(luid[0]!), 4);
      state.writeUInt32LE(2, 12); // SE_PRIVILEGE_ENABLED
      checkBool("AdjustTokenPrivileges", api().AdjustTokenPrivileges(token[0], false, state, state.length, null, null), lastError);
    }
  } finally {
    api().CloseHandle(token[0]);
  }
}

/** Creates `path` and writes a backup stream into it with BackupWrite (data, security, EAs, reparse data, ADS). */
export function backupWriteFile(path: string, stream: Buffer): void {
  const handle = api().CreateFileW(path, fileWrite, 0, null, createAlways, backupSemantics, null);
  if (handle === null || koffi.address(handle) === 0xffffffffffffffffn) checkBool("CreateFileW", false, lastError);
  const context = [null];
  try {
    const written = [0];
    checkBool("BackupWrite", api().BackupWrite(handle, stream, stream.length, written, false, true, context), lastError);
  } finally {
    api().BackupWrite(handle, null, 0, [0], true, false, context);
    api().CloseHandle(handle);
  }
}

/** Maps `source` onto `target` with the bind filter (read-only if asked); and removes that mapping. */
export function setupBindFilter(source: string, target: string, readOnly: boolean): void {
  checkHresult("BfSetupFilter", api().BfSetupFilter(null, readOnly ? 0x1 : 0, target, source, null, 0)); // BINDFLT_FLAG_READ_ONLY_MAPPING
}

export const removeBindFilter = (target: string): void => checkHresult("BfRemoveMapping", api().BfRemoveMapping(null, target));
