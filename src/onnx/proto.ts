/**
 * The ONNX file format: the official schema (`onnx.proto`, copied from the ONNX release Debian
 * ships) read by protobufjs, so that every byte of a `.onnx` file is written by a maintained
 * protobuf encoder against the schema itself, never by hand.
 */
import { join } from 'node:path';
import * as protobuf from 'protobufjs';

/** The schema, beside this module: `npm run build` copies it from src/onnx/ to dist/onnx/. */
export const ONNX_PROTO = join(__dirname, 'onnx.proto');

/** The IR version of that schema (ONNX 1.12), which ONNX Runtime 1.30 and Debian's checker both read. */
export const IR_VERSION = 8;

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT64: 7 } as const;

/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;

/** onnx.ModelProto, loaded once. */
function modelProto(): protobuf.Type {
  modelType ??= protobuf.loadSync(ONNX_PROTO).lookupType('onnx.ModelProto');
  return modelType;
}

/** A ModelProto as protobufjs' plain objects spell it (camelCase field names: `opType`, `rawData`). */
export type ModelObject = Record<string, unknown>;

/** The bytes of a `.onnx` file; throws naming the field when `model` does not fit the schema. */
export function encodeModel(model: ModelObject): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`the ONNX model does not fit onnx.proto: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/** A `.onnx` file's bytes as a plain ModelProto object (int64 fields as numbers, bytes as Buffers). */
export function decodeModel(bytes: Uint8Array): ModelObject {
  const type = modelProto();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Buffer, defaults: false }) as ModelObject;
}
