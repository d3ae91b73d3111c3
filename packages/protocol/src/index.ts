// User API: the contracts every sandboxd component speaks.
export { ENVD_PORT, CODE_INTERPRETER_PORT, ENVD_VERSION } from './ports.js';
export { Headers } from './headers.js';
export { wellFormedRequestId } from './request-id.js';
export { SANDBOX_DEFAULT_PATH } from './paths.js';
export { ErrorCode, errorStatus, errorMeaning, SandboxdError, isSandboxdError, toE2bErrorBody } from './errors.js';
export type { E2bErrorBody } from './errors.js';
export { fileSignature, signatureMatches } from './file-signature.js';
export type { FileOperation, FileSignatureInput } from './file-signature.js';
export { LoopbackForward, parseLoopbackTarget } from './loopback-forward.js';
export { AGENT_CONFIG_PATH, AgentConfigSchema, parseAgentConfig } from './agent-config.js';
export type { AgentConfig, AgentConfigInput } from './agent-config.js';
export { Adopt, parseAdoptRequest, sameIdentity } from './adopt.js';
export type { AdoptRequest, AdoptResponse } from './adopt.js';
export { TemplateReady } from './template-ready.js';
export type { TemplateReadyState } from './template-ready.js';
export {
  encodeFrame as encodeSudoFrame,
  encodeJsonFrame as encodeSudoJsonFrame,
  FrameDecoder as SudoFrameDecoder,
  FrameError as SudoFrameError,
  FrameType as SudoFrameType,
  FRAME_HEADER_SIZE as SUDO_FRAME_HEADER_SIZE,
  MAX_FRAME_PAYLOAD as SUDO_MAX_FRAME_PAYLOAD,
  parseRequest as parseSudoRequest,
  STDIN_WINDOW as SUDO_STDIN_WINDOW,
} from './sudo-frames.js';
export type { Frame as SudoFrame, SudoRequest } from './sudo-frames.js';
export type { ExecutionRequest, ContextInfo, ChartInfo, ResultLine, UsageLine, ExecutionLine } from './code-interpreter.js';
// Integrator API: generated message and service descriptors of the agent's Connect services.
export {
  Process,
  ProcessEventSchema,
  ProcessEvent_EndEventSchema,
  Signal,
} from './gen/process/process_pb.js';
export type { ProcessEvent, ProcessConfig, StartRequest, ProcessSelector, ProcessInput } from './gen/process/process_pb.js';
export { Filesystem, FileType, EventType, EntryInfoSchema, FilesystemEventSchema } from './gen/filesystem/filesystem_pb.js';
export type { EntryInfo, FilesystemEvent } from './gen/filesystem/filesystem_pb.js';
export { processEndOf } from './process-end.js';
export type { ProcessEnd } from './process-end.js';
export { renderErrorsDoc } from './errors-doc.js';
export { deadline, linkSignals, timeoutSignal, throwIfAborted } from './abort.js';
export type { OperationOptions } from './abort.js';
