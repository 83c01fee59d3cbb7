-- One template's reports, a page at a time in either order, without reading the user's
-- other reports (GET /v1/reports?template_id=).
CREATE INDEX reports_user_template_created_idx ON reports (user_id, template_id, created_at, id);
