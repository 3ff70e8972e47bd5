// Types of scripts/v8-code.mjs (plain JavaScript, so that test/arm can run it without a build).
export interface Instruction {
  addr: bigint;
  offset: number;
  bytes: Uint8Array;
  text: string;
}
export interface WasmCode {
  index: number;
  compiler: string;
  instructions: Instruction[];
}
export function wasmExports(bytes: Uint8Array): Map<string, number>;
export function parseWasmCode(text: string, arch: 'arm64' | 'x64'): WasmCode[];
export function codeOf(functions: WasmCode[], exports: Map<string, number>, name: string): WasmCode | undefined;
