/**
 * Where something is in a policy file. Cedar reports UTF-8 byte offsets; people read lines and
 * columns.
 */
export interface Location {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters. */
  readonly column: number;
}

/** Location of a UTF-8 byte offset, as Cedar reports them. */
export const locate = (file: string, text: string, byteOffset: number): Location =>
  locateIndex(file, text, Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length);

/** Location of a JavaScript string index. */
export function locateIndex(file: string, text: string, index: number): Location {
  const lines = text.slice(0, index).split('\n');
  const last = lines[lines.length - 1] ?? '';
  return { file, line: lines.length, column: [...last].length + 1 };
}

export const formatLocation = (at: Location) => `${at.file}:${at.line}:${at.column}`;
