import type { OperatorEvents } from '../operator/operatorEvents.js';
import type { AttemptOutcome, RecordResult } from './sql/recordAttempts.js';

/**
 * Operational events for what a recorded batch changed, told from the batch's own outcomes (a
 * transition always comes from an attempt in the batch); never about the operator's own endpoint.
 */
export function reportToOperator(operator: Pick<OperatorEvents, 'emit'>, result: RecordResult, batch: AttemptOutcome[]): void {
  for (const t of result.transitions) {
    const last = batch.findLast((o) => o.endpointId === t.endpointId && o.owner);
    if (!last?.owner) continue;
    const { environment, tenantId } = last.owner;
    const base = { endpointId: t.endpointId, tenantId };
    if (t.kind === 'disabled') operator.emit(environment, 'endpoint.disabled', { ...base, reason: t.reason });
    else if (t.kind === 'recovered')
      operator.emit(environment, 'endpoint.recovered', { ...base, failingSince: new Date(t.failingSince).toISOString() });
    else
      operator.emit(environment, 'delivery.failing', {
        ...base,
        consecutiveFailures: t.failures,
        lastStatusCode: last.statusCode,
        lastError: last.error,
      });
  }
  for (const x of result.exhausted) {
    const o = batch.find((b) => b.deliveryId === x.deliveryId);
    if (!o?.owner) continue;
    operator.emit(o.owner.environment, 'delivery.exhausted', {
      deliveryId: x.deliveryId,
      eventId: o.eventId,
      endpointId: x.endpointId,
      tenantId: o.owner.tenantId,
      attempts: o.attempt,
      lastStatusCode: o.statusCode,
      lastError: o.error,
    });
  }
}
