export type { Frame, OversizedFrame } from "./frame.js";
export { FrameDecoder, encodeFrame, frameHeaderLength, maxMessageLength, messageTypes } from "./frame.js";
export type { TtrpcCallOptions, TtrpcServiceClient } from "./client.js";
export { TtrpcClient, socketPathOf, ttrpcServiceClient } from "./client.js";
export type { ListenTarget, TtrpcCallContext, TtrpcHandlers, TtrpcServerOptions } from "./server.js";
export { TtrpcServer, isNamedPipe } from "./server.js";
export type { PeerCredentials } from "./peercred.js";
export { peerCredentials, peerCredentialsAvailable, peerIsSameUser } from "./peercred.js";
export { errorOfTtrpcStatus, statusOfError } from "./status.js";
