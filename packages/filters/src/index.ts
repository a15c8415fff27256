/**
 * @berth/filters: containerd's filter language, e.g. `name==foo,labels."a.b"` or
 * `topic~=/tasks/.+`. Parse once with `parseFilter`/`parseFilters`, then `match` any object
 * through an `Adaptor`. The grammar and match semantics are documented on `parseFilter`.
 */
export type { Adaptor, FieldPath, Filter, Operator, Selector } from "./types.js";
export { FilterSyntaxError } from "./errors.js";
export { matchAll, parseFilter, parseFilters } from "./filter.js";
export { adaptObject } from "./adapt.js";
