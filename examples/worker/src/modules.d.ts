// What wrangler's module rules (wrangler.toml) turn these imports into inside workerd.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
declare module '*.sqz' {
  const data: ArrayBuffer;
  export default data;
}
