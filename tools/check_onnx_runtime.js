// check_onnx_runtime.js - optional second opinion on libbnmlp's ONNX exports: runs each
// DIR/NAME.onnx with onnxruntime-node (npm; `npm install --ignore-scripts onnxruntime-node`: the
// CPU library ships in the package, the install script only fetches GPU builds) on NAME.x.npy and
// compares with the library's predictions NAME.y.npy (tests/onnx/onnx_cases writes all three)
// within 1e-5 + 1e-5 * |prediction| per element, as tools/check_onnx.py does.
// Usage: node tools/check_onnx_runtime.js DIR (with onnxruntime-node on NODE_PATH). Exit 0 when
// every case passes; prints "onnxruntime: N passed, M failed".
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const RTOL = 1e-5;
const ATOL = 1e-5;

// A little-endian float32 .npy file (format 1.0 or 2.0, C order) as {shape, data}.
function readNpy(file) {
  const bytes = fs.readFileSync(file);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', start - headerLength, start);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(`${file}: not a C-order float32 array`);
  }
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return {shape, data};
}

async function checkCase(dir, file) {
  const base = path.join(dir, file.slice(0, -'.onnx'.length));
  const x = readNpy(base + '.x.npy');
  const y = readNpy(base + '.y.npy');
  const session = await ort.InferenceSession.create(path.join(dir, file));
  const output = (await session.run({input: new ort.Tensor('float32', x.data, x.shape)})).output;
  if (output.dims.join() !== y.shape.join()) return {ok: false, worst: NaN};
  let worst = 0;
  let ok = true;
  for (let i = 0; i < y.data.length; i++) {
    const error = Math.abs(output.data[i] - y.data[i]);
    worst = Math.max(worst, error);
    if (!(error <= ATOL + RTOL * Math.abs(y.data[i]))) ok = false;
  }
  return {ok, worst};
}

async function main() {
  const dir = process.argv[2];
  let passed = 0;
  let failed = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
    let result;
    try {
      result = await checkCase(dir, file);
    } catch (error) {
      result = {ok: false, worst: NaN, error};
    }
    const detail = result.error ? ` (${result.error.message})` : '';
    console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${file}: max |onnxruntime - library| ${result.worst.toExponential(2)}${detail}`);
    if (result.ok) passed++; else failed++;
  }
  console.log(`onnxruntime: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main();
