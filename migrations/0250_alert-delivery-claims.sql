-- Delivery claims: the deliver job and the webhook job each set their column once
-- (UPDATE … WHERE … IS NULL, in the transaction that publishes or POSTs), so a duplicated
-- or retried job publishes `alerts.fired` and POSTs the webhook once per event.
ALTER TABLE alert_events ADD COLUMN delivered_at timestamptz;
ALTER TABLE alert_events ADD COLUMN webhook_sent_at timestamptz;
