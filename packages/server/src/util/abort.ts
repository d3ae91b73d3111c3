// The one helper for linking signals and turning `timeoutMs` into a deadline lives in protocol
// (the agent uses it too).
export { deadline, linkSignals, throwIfAborted } from '@sandboxd/protocol';
