-- The daily purge deletes request counts older than REQUEST_USAGE_RETENTION_DAYS in
-- batches; this index lets each batch find them without reading the whole table.
CREATE INDEX api_request_usage_day ON api_request_usage (day);
