/**
 * IAM tag rules (AWS IAM User Guide, "Tagging IAM resources"): at most 50 tags on a resource,
 * keys of 1–128 and values of 0–256 characters of `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, keys unique
 * without regard to case, and the `aws:` prefix reserved. Tags are stored, returned and audited
 * as given; nothing accepted is dropped.
 */

import type { IamTag } from '../../core/aws/iam-records.js';
import { HoldfastError } from '../../core/errors.js';

/** Most tags one IAM resource holds. */
export const MAX_TAGS = 50;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const PATTERN_TEXT = '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]';

function invalid(where: string, value: string, constraint: string): HoldfastError {
  return new HoldfastError(
    'IAM_TAG_INVALID',
    `1 validation error detected: Value '${value}' at '${where}' failed to satisfy constraint: ${constraint}`,
  );
}

/** Checks tags given in one request; returns them unchanged. */
export function checkTags(tags: readonly IamTag[]): IamTag[] {
  if (tags.length > MAX_TAGS)
    throw new HoldfastError('IAM_TAG_LIMIT', 'The number of tags has reached the maximum limit.');
  const seen = new Set<string>();
  tags.forEach((tag, i) => {
    const where = `tags.${i + 1}.member`;
    if (tag.key.length < 1 || tag.key.length > 128)
      throw invalid(`${where}.key`, tag.key, 'Member must have length between 1 and 128');
    if (!TAG_TEXT.test(tag.key))
      throw invalid(
        `${where}.key`,
        tag.key,
        `Member must satisfy regular expression pattern: ${PATTERN_TEXT}+`,
      );
    if (tag.value.length > 256)
      throw invalid(`${where}.value`, tag.value, 'Member must have length less than or equal to 256');
    if (!TAG_TEXT.test(tag.value))
      throw invalid(
        `${where}.value`,
        tag.value,
        `Member must satisfy regular expression pattern: ${PATTERN_TEXT}*`,
      );
    if (tag.key.toLowerCase().startsWith('aws:'))
      throw new HoldfastError('IAM_TAG_INVALID', 'Tag keys starting with aws: are reserved for AWS use.');
    const lower = tag.key.toLowerCase();
    if (seen.has(lower)) {
      throw new HoldfastError(
        'IAM_TAG_DUPLICATE',
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      );
    }
    seen.add(lower);
  });
  return [...tags];
}

/** The tags after adding `given` to `existing` (a key given again replaces its tag). */
export function mergeTags(existing: readonly IamTag[], given: readonly IamTag[]): IamTag[] {
  const out = [...existing];
  for (const tag of given) {
    const at = out.findIndex((t) => t.key.toLowerCase() === tag.key.toLowerCase());
    if (at >= 0) out[at] = tag;
    else out.push(tag);
  }
  if (out.length > MAX_TAGS)
    throw new HoldfastError('IAM_TAG_LIMIT', 'The number of tags has reached the maximum limit.');
  return out;
}

/** The tags left after removing `keys` (compared without regard to case; unknown keys are ignored). */
export function removeTags(existing: readonly IamTag[], keys: readonly string[]): IamTag[] {
  const gone = new Set(keys.map((k) => k.toLowerCase()));
  return existing.filter((t) => !gone.has(t.key.toLowerCase()));
}
