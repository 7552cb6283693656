import { describe, expect, it } from 'vitest';
import { narrowRecords, parseRecordDetail, recordBreach, type RecordConstraints } from './records.ts';

const parent = parseRecordDetail({ type: 'mandate_record', fields: { customer_id: ['42', 7], amount: { min: 0, max: 100 } }, required: ['customer_id'] });
const codeOf = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe('record constraints (RFC 9396 mandate_record)', () => {
  it('lets a call through when every occurrence of a constrained field is within the constraints', () => {
    expect(recordBreach(parent, { customer_id: '42', amount: 100 })).toBeNull();
    expect(recordBreach(parent, { customer_id: 7, amount: '12.5', lines: [{ customer_id: '7' }] })).toBeNull();
  });

  it('names the field, never the value, of a call outside them, wherever the field hides', () => {
    expect(recordBreach(parent, { customer_id: '43' })).toEqual({ field: 'customer_id', reason: 'names a record outside the mandate' });
    expect(recordBreach(parent, { customer_id: '42', filter: { or: [{ customer_id: '43' }] } })?.field).toBe('customer_id');
    expect(recordBreach(parent, { customer_id: ['42', '43'] })?.field).toBe('customer_id');
    expect(recordBreach(parent, { customer_id: { $ne: '42' } })).toEqual({ field: 'customer_id', reason: 'is not a plain value' });
    expect(recordBreach(parent, { customer_id: '42', amount: 101 })).toEqual({ field: 'amount', reason: 'is above 100' });
    expect(recordBreach(parent, { customer_id: '42', amount: '1e9' })).toEqual({ field: 'amount', reason: 'is not a number' });
    expect(recordBreach(parent, { amount: 1 })).toEqual({ field: 'customer_id', reason: 'is required by the mandate and missing' });
  });

  it('refuses malformed constraints as invalid authorization details', () => {
    for (const entry of [
      { type: 'mandate_record', fields: {} },
      { type: 'mandate_record', fields: { customer_id: [] } },
      { type: 'mandate_record', fields: { amount: { min: 5, max: 1 } } },
      { type: 'mandate_record', fields: { 'bad name': ['1'] } },
      { type: 'mandate_record', fields: { a: ['1'] }, required: ['b'] },
      { type: 'mandate_record', fields: { a: ['1'] }, extra: true },
    ]) {
      expect(codeOf(() => parseRecordDetail(entry))).toBe('ERR_AUTHORIZATION_DETAILS_INVALID');
    }
  });

  it('only ever narrows by delegation: a child keeps, or tightens, every constraint of its parent', () => {
    const child = (fields: RecordConstraints['fields'], required: string[] = ['customer_id']) => ({ type: 'mandate_record' as const, fields, required });
    expect(narrowRecords(parent, undefined)).toBe(parent);
    expect(narrowRecords(undefined, undefined)).toBeUndefined();
    expect(codeOf(() => narrowRecords(parent, child({ customer_id: ['42'], amount: { min: 10, max: 50 }, region: ['eu'] })))).toBeNull();
    for (const wider of [
      child({ customer_id: ['42', '43'], amount: { min: 0, max: 100 } }),
      child({ customer_id: ['42'], amount: { min: 0, max: 101 } }),
      child({ customer_id: ['42'], amount: { max: 100 } }),
      child({ customer_id: ['42'], amount: ['5'] }),
      child({ amount: { min: 0, max: 100 } }),
      child({ customer_id: ['42'], amount: { min: 0, max: 100 } }, []),
    ]) {
      expect(codeOf(() => narrowRecords(parent, wider))).toBe('ERR_RECORD_EXCEEDS_PARENT');
    }
  });
});
