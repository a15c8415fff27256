/** A selector's field names, outermost first, with any quoting removed: `labels."a.b"` is ["labels", "a.b"]. */
export type FieldPath = readonly string[];

export type Operator = "==" | "!=" | "~=";

/**
 * One `fieldpath [operator value]` term. A presence test has neither `operator` nor `value`.
 * For "~=" `value` is the regular expression source, delimiters and escapes removed.
 */
export interface Selector {
  readonly fieldpath: FieldPath;
  readonly operator?: Operator;
  readonly value?: string;
}

/**
 * Resolves a field path against one object. Returns `undefined` when the field is absent; a
 * present field is always a string (the adaptor decides how to render other types).
 */
export interface Adaptor {
  field(path: FieldPath): string | undefined;
}

/** A compiled filter: matches if every selector of any one alternative matches. */
export interface Filter {
  /** One entry per filter string (OR); each lists that string's selectors (AND). */
  readonly alternatives: readonly (readonly Selector[])[];
  match(adaptor: Adaptor): boolean;
}
