// @berth/api/services: the grpc-js glue, the one place where error kinds meet gRPC status codes.
export type { CallObserver, Handler, MethodDefinition, MethodObserver, ServiceDefinition, ServiceHandlers } from "./grpc-server.js";
export { errorOfStatus, grpcImplementation, grpcMethodPath, grpcServiceDefinition, serializerOf, statusOfError } from "./grpc-server.js";
export type { BidiCall, CallOptions, ClientMethod, ServerStream, ServiceClient } from "./grpc-client.js";
export { createServiceClient } from "./grpc-client.js";
export { createLocalServiceClient } from "./local-client.js";
import * as grpc from "@grpc/grpc-js";

/** grpc-js itself, so that users of these helpers build channels and servers with the same copy. */
export { grpc };
