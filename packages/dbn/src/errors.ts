import { MdcapError } from '@mdcap/core';

/**
 * A DBN input that cannot be read: the message names the file, the byte offset (in the
 * decompressed stream) and, for records, the record's index (0-based).
 */
export class DbnError extends MdcapError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly record: number | null,
    what: string,
  ) {
    super('MDCAP_ERR_IMPORT_FORMAT', `${file}: byte ${offset}${record === null ? '' : `, record ${record}`}: ${what}`, {
      details: { file, offset, ...(record === null ? {} : { record }) },
    });
  }
}
