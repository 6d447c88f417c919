// `pnpm bench:codec`: microbenchmarks of @rfc6455/codec on its own, with no sockets.
//   node packages/bench/dist/codec-bench.js [--quick] [--out DIR]
// Parsing + unmasking of 64 B, 16 KiB and 1 MiB frames (server role: masked binary frames), and
// UTF-8 validation of ASCII and mixed text, each beside a reference on the same bytes.
import { writeFileSync, mkdirSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Connection, Utf8Validator } from '@rfc6455/codec';
import { decodeHeader, newFrameHeader, maskInPlace } from '@rfc6455/codec/internal';
import { maskedFrame, OPCODE } from './loadgen.js';

/** ws's frame parser, a Writable; @types/ws does not declare it, so its shape is stated here. */
interface WsReceiver {
  on(event: 'message', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  write(chunk: Buffer): boolean;
}
type WsReceiverClass = new (options: {
  isServer: boolean;
  maxPayload: number;
  binaryType: 'nodebuffer';
}) => WsReceiver;
// The same module the ESM `import { Receiver } from 'ws'` gives (ws's wrapper.mjs re-exports it).
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: WsReceiverClass };

/** MB/s over the samples. */
export interface Rate {
  median: number;
  min: number;
  max: number;
}
interface Timing {
  ms: number;
  samples: number;
}
type CodecRow =
  | { kind: 'frames'; label: string; results: { connection: Rate; frames: Rate; ws: Rate } }
  | { kind: 'utf8'; label: string; results: { validator: Rate; textDecoder: Rate; isUtf8: Rate } };
export interface CodecReport {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  timing: Timing;
  rows: CodecRow[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * Runs `fn` (which processes `bytes` bytes per call) in batches until `ms` have passed, several
 * times; returns the median MB/s (10^6 bytes per second).
 */
function throughput(fn: () => void, bytes: number, { ms, samples }: Timing): Rate {
  // Warm-up: let the JIT settle on the hot path.
  const warmEnd = performance.now() + ms / 2;
  while (performance.now() < warmEnd) fn();
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < ms) {
      fn();
      calls++;
      t1 = performance.now();
    }
    rates.push((calls * bytes) / ((t1 - t0) / 1000) / 1e6);
  }
  rates.sort((a, b) => a - b);
  return { median: rates[rates.length >> 1]!, min: rates[0]!, max: rates[rates.length - 1]! };
}

/** About 1 MiB of back-to-back masked binary frames of `size` bytes each (at least one frame). */
function frameStream(size: number): { chunk: Buffer; count: number; payloadBytes: number } {
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 131 + 17) & 0xff;
  const frame = maskedFrame(OPCODE.binary, payload);
  const count = Math.max(1, Math.floor(MiB / frame.length));
  return {
    chunk: Buffer.concat(Array.from({ length: count }, () => frame)),
    count,
    payloadBytes: count * size,
  };
}

function mixedText(bytes: number): Buffer {
  // Latin, accented Latin, Greek, CJK and emoji: 1-, 2-, 3- and 4-byte sequences.
  const sample =
    'The quick brown fox — naïve café, façade, Ærøskøbing; Ελληνικά κείμενα; 日本語のテキスト、中文文本; emoji 🎉🚀✨ ok. ';
  let text = '';
  while (Buffer.byteLength(text) < bytes) text += sample;
  const buf = Buffer.from(text, 'utf8');
  // Trim to a character boundary at or below `bytes`.
  let end = bytes;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

export function runCodecBench({
  quick = false,
  outDir = null,
}: { quick?: boolean; outDir?: string | null } = {}): { report: CodecReport; markdown: string } {
  const timing = quick ? { ms: 150, samples: 3 } : { ms: 400, samples: 5 };
  const rows: CodecRow[] = [];
  const log = (line: string): boolean => process.stderr.write(`${line}\n`);

  const frameSizes: [string, number][] = [
    ['64 B', 64],
    ['16 KiB', 16 * KiB],
    ['1 MiB', MiB],
  ];
  for (const [label, size] of frameSizes) {
    const { chunk, count, payloadBytes } = frameStream(size);
    // Unmasking happens in place: feeding the same chunk again masks it back, the same work each time.
    const connection = new Connection({ role: 'server', maxFramePayload: 2 * MiB, maxMessageSize: 2 * MiB });
    const viaConnection = () => {
      const events = connection.receive(chunk);
      if (events.length !== count) throw new Error(`expected ${count} events, got ${events.length}`);
    };
    const header = newFrameHeader();
    const viaFrames = () => {
      let pos = 0;
      while (pos < chunk.length) {
        pos += decodeHeader(chunk, pos, chunk.length, header);
        maskInPlace(chunk, pos, pos + header.payloadLength, header.maskKey, 0);
        pos += header.payloadLength;
      }
    };
    let received = 0;
    const receiver = new Receiver({ isServer: true, maxPayload: 2 * MiB, binaryType: 'nodebuffer' });
    receiver.on('message', () => received++);
    receiver.on('error', (error) => {
      throw error;
    });
    const viaWs = () => {
      received = 0;
      receiver.write(chunk);
      if (received !== count) throw new Error(`ws Receiver: expected ${count} messages, got ${received}`);
    };
    const results = {
      connection: throughput(viaConnection, payloadBytes, timing),
      frames: throughput(viaFrames, payloadBytes, timing),
      ws: throughput(viaWs, payloadBytes, timing),
    };
    rows.push({ kind: 'frames', label: `${label} binary frames (${count} per chunk)`, results });
    log(
      `  codec: parse+unmask ${label}: Connection ${results.connection.median.toFixed(0)} MB/s, ws Receiver ${results.ws.median.toFixed(0)} MB/s`,
    );
  }

  const fatal = new TextDecoder('utf-8', { fatal: true });
  const texts: [string, Buffer][] = [
    ['ASCII, 64 B', Buffer.from('x'.repeat(64))],
    [
      'ASCII, 1 MiB',
      Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(MiB / 45))).subarray(
        0,
        MiB,
      ),
    ],
    ['mixed text, 64 B', mixedText(64)],
    ['mixed text, 1 MiB', mixedText(MiB)],
  ];
  for (const [label, bytes] of texts) {
    const validator = new Utf8Validator();
    const viaValidator = () => {
      if (validator.push(bytes) !== -1 || !validator.finish())
        throw new Error('the validator rejected valid text');
    };
    const viaTextDecoder = () => {
      fatal.decode(bytes);
    };
    const viaIsUtf8 = () => {
      if (!isUtf8(bytes)) throw new Error('isUtf8 rejected valid text');
    };
    const results = {
      validator: throughput(viaValidator, bytes.length, timing),
      textDecoder: throughput(viaTextDecoder, bytes.length, timing),
      isUtf8: throughput(viaIsUtf8, bytes.length, timing),
    };
    rows.push({ kind: 'utf8', label: `${label} (${bytes.length} bytes)`, results });
    log(
      `  codec: UTF-8 ${label}: Utf8Validator ${results.validator.median.toFixed(0)} MB/s, TextDecoder ${results.textDecoder.median.toFixed(0)} MB/s`,
    );
  }

  const cpus = os.cpus();
  const report: CodecReport = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, node: process.version },
    timing,
    rows,
  };
  const markdown = codecMarkdown(report, quick);
  const dir = outDir ?? path.join(repoRoot, 'reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bench-codec.md'), markdown);
  return { report, markdown };
}

const mbs = (s: Rate): string => `${s.median.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`;

function codecMarkdown(report: CodecReport, quick: boolean): string {
  const frames = report.rows.filter((row) => row.kind === 'frames');
  const utf8 = report.rows.filter((row) => row.kind === 'utf8');
  return [
    '# Codec microbenchmarks',
    '',
    `Generated by \`pnpm bench:codec${quick ? ' --quick' : ''}\` (also part of \`npm run bench\`) on ${report.date}; ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}. ` +
      `MB/s of payload (10^6 bytes per second), median [min–max] of ${report.timing.samples} samples of ${report.timing.ms} ms after a warm-up, one process, no sockets.`,
    '',
    '## Parse and unmask (server role, masked binary frames, about 1 MiB per chunk)',
    '',
    '| frames | `Connection.receive` | `decodeHeader` + `maskInPlace` loop | ws 8 `Receiver` (JS masking, no bufferutil) | receive ÷ ws |',
    '| --- | --- | --- | --- | --- |',
    ...frames.map(
      (row) =>
        `| ${row.label} | ${mbs(row.results.connection)} | ${mbs(row.results.frames)} | ${mbs(row.results.ws)} | ${(row.results.connection.median / row.results.ws.median).toFixed(2)} |`,
    ),
    '',
    '`Connection.receive` is the whole path a server runs: header checks, limits, unmasking in place and one event per message (a view, not a copy).',
    '',
    '## UTF-8 validation',
    '',
    '| text | `Utf8Validator` (incremental, fail-fast) | `TextDecoder` fatal (validates and decodes) | `buffer.isUtf8` (native; what ws uses) | validator ÷ TextDecoder |',
    '| --- | --- | --- | --- | --- |',
    ...utf8.map(
      (row) =>
        `| ${row.label} | ${mbs(row.results.validator)} | ${mbs(row.results.textDecoder)} | ${mbs(row.results.isUtf8)} | ${(row.results.validator.median / row.results.textDecoder.median).toFixed(2)} |`,
    ),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const { markdown } = runCodecBench({
    quick: args.includes('--quick'),
    outDir: outIndex >= 0 ? (args[outIndex + 1] ?? null) : null,
  });
  process.stdout.write(markdown);
}
