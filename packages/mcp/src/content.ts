import type { Execution, Result } from '@e2b/code-interpreter';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export type ToolContent = CallToolResult['content'][number];

const text = (value: string): ToolContent => ({ type: 'text', text: value });

/** The MCP content of one rich result: images as image content, every textual format as text. */
function resultContent(result: Result): ToolContent[] {
  const out: ToolContent[] = [];
  if (result.png) out.push({ type: 'image', data: result.png, mimeType: 'image/png' });
  if (result.jpeg) out.push({ type: 'image', data: result.jpeg, mimeType: 'image/jpeg' });
  const hasImage = out.length > 0;
  if (result.chart) out.push(text(`chart data (JSON): ${JSON.stringify(result.chart)}`));
  if (result.json !== undefined) out.push(text(typeof result.json === 'string' ? result.json : JSON.stringify(result.json)));
  if (result.html !== undefined) out.push(text(result.html));
  if (result.markdown !== undefined) out.push(text(result.markdown));
  if (result.latex !== undefined) out.push(text(result.latex));
  if (result.svg !== undefined && !hasImage) out.push(text(result.svg));
  // A figure's plain text is only its repr ("<Figure size 640x480 with 1 Axes>"): the image says more.
  if (result.text !== undefined && !hasImage && out.length === 0) out.push(text(result.text));
  return out;
}

/**
 * An execution of the code interpreter as an MCP tool result: stdout and stderr as text, each
 * result (charts and images as PNG/JPEG image content; text, HTML, JSON, Markdown as text), and
 * the error, when the code raised one, as text with `isError`.
 */
export function executionResult(execution: Execution): CallToolResult {
  const content: ToolContent[] = [];
  const stdout = execution.logs.stdout.join('');
  const stderr = execution.logs.stderr.join('');
  if (stdout) content.push(text(`stdout:\n${stdout}`));
  if (stderr) content.push(text(`stderr:\n${stderr}`));
  for (const result of execution.results) content.push(...resultContent(result));
  if (execution.error) {
    const { name, value, traceback } = execution.error;
    content.push(text(`error: ${name}: ${value}${traceback ? `\n${traceback}` : ''}`));
  }
  if (content.length === 0) content.push(text('(no output)'));
  return execution.error ? { content, isError: true } : { content };
}

/** Image types recognised by their first bytes, returned as MCP image content by `read_file`. */
const IMAGE_SIGNATURES: Array<{ mimeType: string; magic: number[] }> = [
  { mimeType: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { mimeType: 'image/jpeg', magic: [0xff, 0xd8, 0xff] },
  { mimeType: 'image/gif', magic: [0x47, 0x49, 0x46, 0x38] },
];

const startsWith = (bytes: Uint8Array, magic: number[]): boolean => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/**
 * A file's bytes as MCP content: UTF-8 text as text, PNG/JPEG/GIF as image content, anything
 * else as an embedded binary resource (base64).
 */
export function fileContent(path: string, bytes: Uint8Array): ToolContent {
  const image = IMAGE_SIGNATURES.find((s) => startsWith(bytes, s.magic));
  if (image) return { type: 'image', data: Buffer.from(bytes).toString('base64'), mimeType: image.mimeType };
  try {
    return text(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return {
      type: 'resource',
      resource: { uri: `file://${path.startsWith('/') ? '' : '/'}${encodeURI(path)}`, mimeType: 'application/octet-stream', blob: Buffer.from(bytes).toString('base64') },
    };
  }
}
