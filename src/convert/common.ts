/**
 * What every converter shares: the metadata a source format does not record, and the last step
 * that turns the converted network into a validated model.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ConvertError, ModelFormatError } from '../errors.js';
import type { InputSpec, Model, Provenance } from '../model/format.js';
import { validateModel, type ValidModel } from '../model/validate.js';

/** Name, preprocessing, labels and provenance of a converted model, which source formats do not record. */
export interface ConvertMeta {
  name: string;
  /** Preprocessing; height and width default to the source's static input dimensions. */
  input: Omit<InputSpec, 'name' | 'height' | 'width'> & Partial<Pick<InputSpec, 'height' | 'width'>>;
  labels: string[];
  provenance: Provenance;
}

/** A converter's `meta` argument has the fields it reads, of their types. */
export function checkMeta(fn: string, meta: ConvertMeta): void {
  checkArguments(fn, { meta: [meta, 'object'] });
  const { name, input, labels, provenance } = meta;
  checkArguments(fn, { 'meta.name': [name, 'string'], 'meta.input': [input, 'object'], 'meta.labels': [labels, 'array'], 'meta.provenance': [provenance, 'object'] });
}

/**
 * Validates a converted model, a converter's last step: a network the reader would refuse is a
 * ConvertError, not a file written and failing later.
 */
export function checkConverted(model: Model): ValidModel {
  try {
    return validateModel(model);
  } catch (e) {
    if (e instanceof ModelFormatError) throw new ConvertError('E_CONVERT_GRAPH', `the converted network is not valid: ${e.message}`);
    throw e;
  }
}
