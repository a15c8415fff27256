import { type ErrorKind, kindOf } from "@berth/api";

/** The error kind `action` fails with, or "none": tests check kinds, never message text. */
export async function kindOfFailure(action: () => Promise<unknown>): Promise<ErrorKind | "none"> {
  try {
    await action();
    return "none";
  } catch (error) {
    return kindOf(error);
  }
}
