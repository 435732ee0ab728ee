#!/usr/bin/env node
// Times ONNX Runtime's CPU forward of one .onnx model at one batch size, the peer side of
// compare.sh. Prints one JSON line:
//   {"model","batch","threads","median_ms","p10_ms","p90_ms","runs",...}
// Usage:
//   node ort_time.mjs MODEL.onnx [--batch 1] [--threads 2] [--warmup 5] [--reps 30]
//        [--shape 3,640,640] [--profile DIR] [--check FILE.check.bin] [--check-tol 0.01]
// Session options mirror streaminfer's CPU setup: N intra-op threads for the operators, one
// inter-op thread and sequential execution (LibTorch runs one operator after another too), and
// every graph optimization ONNX Runtime has ('all': constant folding, Conv+BN/activation fusion,
// layout transforms), since a user deploying with ONNX Runtime would turn them on.
// --profile makes ONNX Runtime write its per-operator JSON (profile_table.py summarizes it);
// profiling costs time per operator, so take the timing from a run without it.
// --check runs the input stored by export_onnx.py once and compares the output with PyTorch's,
// so a fast but wrong export cannot pass unnoticed.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
// vendor.sh installs the package here (git-ignored); ORT_NODE_PREFIX points elsewhere.
const prefix = process.env.ORT_NODE_PREFIX ?? path.join(here, '..', '..', '..', 'third_party', 'npm-peers');
const require = createRequire(path.join(path.resolve(prefix), 'package.json'));

function fail(message) {
  console.error(`ort_time: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { batch: 1, threads: 2, warmup: 5, reps: 30, shape: null, profile: null, check: null, checkTol: 0.01 };
  const ints = { '--batch': 'batch', '--threads': 'threads', '--warmup': 'warmup', '--reps': 'reps' };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : fail(`${a} needs a value`));
    if (a in ints) {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) fail(`${a} must be a non-negative integer`);
      opts[ints[a]] = v;
    } else if (a === '--shape') {
      opts.shape = value().split(',').map(Number);
      if (opts.shape.some((d) => !Number.isInteger(d) || d <= 0)) fail('--shape is C,H,W (positive integers)');
    } else if (a === '--profile') opts.profile = value();
    else if (a === '--check') opts.check = value();
    else if (a === '--check-tol') opts.checkTol = Number(value());
    else if (a === '-h' || a === '--help') {
      // The header comment above is the help text.
      const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
      console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a.startsWith('--')) fail(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 1) fail('give one MODEL.onnx (--help for usage)');
  if (opts.batch < 1 || opts.threads < 1 || opts.reps < 1) fail('--batch, --threads and --reps must be at least 1');
  opts.model = positional[0];
  return opts;
}

// Linear interpolation between order statistics (numpy's default), on sorted values.
function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round3 = (x) => Math.round(x * 1000) / 1000;

// Per-image input shape: --shape, else the model's own input dimensions after the batch axis.
function imageShape(session, opts) {
  if (opts.shape) return opts.shape;
  const meta = session.inputMetadata?.[0];
  const dims = meta?.shape?.slice(1) ?? [];
  if (dims.length === 0 || dims.some((d) => typeof d !== 'number' || d <= 0)) {
    fail(`the model's input has no fixed C,H,W (${JSON.stringify(meta?.shape)}): give --shape`);
  }
  return dims;
}

// The check file of export_onnx.py: uint32 input count, uint32 output count, then both float32.
async function check(ort, session, file, shape, tol) {
  const buf = fs.readFileSync(file);
  const nIn = buf.readUInt32LE(0);
  const nOut = buf.readUInt32LE(4);
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + 8 + 4 * (nIn + nOut)));
  const perImage = shape.reduce((a, b) => a * b, 1);
  if (nIn !== perImage) fail(`${file} holds ${nIn} input values, the model takes ${perImage} per image`);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', floats.subarray(0, nIn), [1, ...shape]) };
  const out = (await session.run(feeds))[session.outputNames[0]].data;
  if (out.length !== nOut) fail(`output has ${out.length} values, ${file} holds ${nOut}`);
  let maxDiff = 0;
  for (let i = 0; i < nOut; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - floats[nIn + i]));
  if (!(maxDiff <= tol)) fail(`ONNX Runtime's output differs from PyTorch's by ${maxDiff} (> ${tol})`);
  return maxDiff;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${prefix} (run bench/peers/onnxruntime/vendor.sh): ${e.message}`);
  }
  const sessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  if (opts.profile) {
    fs.mkdirSync(opts.profile, { recursive: true });
    sessionOptions.enableProfiling = true;
    sessionOptions.profileFilePrefix = path.join(opts.profile, `ort_${path.basename(opts.model, '.onnx')}_b${opts.batch}`);
  }
  const session = await ort.InferenceSession.create(opts.model, sessionOptions);
  const shape = imageShape(session, opts);

  const checkDiff = opts.check ? await check(ort, session, opts.check, shape, opts.checkTol) : null;

  // Uniform [0, 1) like a normalized image; one input reused, made before the clock starts.
  const dims = [opts.batch, ...shape];
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };

  for (let i = 0; i < opts.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }

  let profileFile = null;
  if (opts.profile) {
    // endProfiling writes PREFIX_<date>_<time>.json and, in the Node binding, returns nothing:
    // take the newest file with the prefix.
    session.endProfiling();
    const base = path.basename(sessionOptions.profileFilePrefix);
    const files = fs.readdirSync(opts.profile)
      .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.json'))
      .map((f) => path.join(opts.profile, f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    profileFile = files[0] ?? null;
  }
  await session.release();

  const sorted = [...times].sort((a, b) => a - b);
  const result = {
    model: path.basename(opts.model),
    batch: opts.batch,
    threads: opts.threads,
    median_ms: round3(quantile(sorted, 0.5)),
    p10_ms: round3(quantile(sorted, 0.1)),
    p90_ms: round3(quantile(sorted, 0.9)),
    runs: opts.reps,
    warmup: opts.warmup,
    min_ms: round3(sorted[0]),
    ort: require('onnxruntime-node/package.json').version,
  };
  if (checkDiff !== null) result.check_max_abs_diff = checkDiff;
  if (opts.profile) {
    result.profiled = true; // times include the profiler's own cost
    result.profile = profileFile;
  }
  console.log(JSON.stringify(result));
}

main().catch((e) => fail(e?.stack ?? String(e)));
