/**
 * The last few KiB a process wrote to one stream, kept so the sandbox's log can say why a process
 * failed (`GET /sandboxes/{id}/logs`) without keeping its output.
 */
export class OutputTail {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly limit = 2048) {}

  push(chunk: Uint8Array): void {
    if (chunk.byteLength >= this.limit) {
      this.chunks = [chunk.subarray(chunk.byteLength - this.limit)];
      this.size = this.limit;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    while (this.size - (this.chunks[0]?.byteLength ?? 0) >= this.limit) this.size -= this.chunks.shift()?.byteLength ?? 0;
  }

  /** The tail as text, cut at the limit (a partial UTF-8 sequence at the start is dropped). */
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.byteLength - this.limit)).toString('utf8').replace(/^\uFFFD+/, '');
  }
}
