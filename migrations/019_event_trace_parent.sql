-- The W3C traceparent of the span that accepted an event (when tracing is on): its deliveries'
-- attempt spans are children of it, so one trace shows a request and every attempt it caused.
ALTER TABLE events ADD COLUMN trace_parent TEXT;
