/**
 * What every converter shares: the metadata a source format does not record, and the last step
 * that turns the converted network into a validated model.
 * @packageDocumentation
 */
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
