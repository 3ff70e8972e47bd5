// Every test file decodes images with the kernels module that `npm run build:wasm` built.
import { setDecoderModule } from '../../src/image/codec.js';
import { kernelsModule } from './wasm.js';

setDecoderModule(kernelsModule);
