// Captures log lines in memory so tests can assert on what was (and was not) logged.
import { Writable } from 'node:stream';

export interface LogLine {
  level: string;
  time: string;
  msg: string;
  requestId?: string;
  userId?: string;
  event?: string;
  [key: string]: unknown;
}

export class LogCapture extends Writable {
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.raw.push(line);
    callback();
  }

  get lines(): LogLine[] {
    return this.raw.map((line) => JSON.parse(line) as LogLine);
  }

  /** Every captured line as text, for "this secret never appears" checks. */
  text(): string {
    return this.raw.join('\n');
  }

  events(name: string): LogLine[] {
    return this.lines.filter((line) => line.event === name);
  }
}
