import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { payloadTypeName, RECEIVER_TYPES_FILE, renderReceiverTypes } from '../../scripts/gen-receiver-types.js';
import { CATALOGS } from '../../src/event-types/catalogs/index.js';
import type { CatalogEventTypes, EventPayloads, ProductfyEvent, StandardEvent } from '../../packages/webhooks/src/index.js';

describe('receiver library: payload types', () => {
  it('packages/webhooks/src/events.ts is generated from the current catalogs (run npm run webhooks:types)', async () => {
    assert.equal(fs.readFileSync(RECEIVER_TYPES_FILE, 'utf8'), await renderReceiverTypes());
  });

  it('has an interface for every catalog event type', () => {
    const text = fs.readFileSync(RECEIVER_TYPES_FILE, 'utf8');
    for (const c of Object.values(CATALOGS)) {
      for (const t of c.types) assert.ok(text.includes(`export interface ${payloadTypeName(t.name)} {`), `${c.name}/${t.name}`);
    }
  });

  it('narrows a body by its event type (checked by npm run typecheck)', () => {
    // Compile-time checks: this test fails `tsc` (npm run typecheck), not at run time, when the
    // unions stop narrowing or a field's type is lost.
    const describeStandard = (e: StandardEvent): string => {
      switch (e.type) {
        case 'PymtCard': {
          const state: 'PENDING' | 'CLEARED' | 'COMPLETION' | 'DECLINED' | 'ERROR' | 'ALL' = e.data.state;
          // @ts-expect-error a KycUpdate field is not on a card transaction
          void e.data.kycStatus;
          return `${state} ${e.data.amount}`;
        }
        case 'customer.created':
          return String(e.data.customer.id);
        default:
          return e.type;
      }
    };
    const describeProductfy = (e: ProductfyEvent<CatalogEventTypes['productfy']>): string =>
      e.triggerType === 'PymtCard' ? e.eventPayload.transactionId : e.triggerType;
    const card: EventPayloads['PymtCard'] = { type: 'authorization', state: 'CLEARED', amount: 2.2, transactionId: 'tx_1' };
    assert.equal(describeStandard({ id: 'evt_1', type: 'PymtCard', timestamp: '2024-01-01T00:00:00.000Z', data: card }), 'CLEARED 2.2');
    assert.equal(
      describeProductfy({
        id: 'evt_1',
        status: 'I',
        createdTs: '2024-01-01T00:00:00.000Z',
        callbackUrl: 'https://example.com/hook',
        triggerType: 'PymtCard',
        eventPayload: card,
        triggeringEventTs: '2024-01-01T00:00:00.000Z',
      }),
      'tx_1',
    );
  });
});
